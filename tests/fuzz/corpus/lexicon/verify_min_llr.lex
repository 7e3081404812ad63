target lah L AA | L AH
correct la => lah
threshold 0.15 lah
verify_min_llr -1.5
