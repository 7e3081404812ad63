# parley lexicon v2
target lah L AA | L AH
target walao W AA L AW
threshold 0.25 lah
threshold 1e-1 walao
keyword_weight 0.01
correct la => lah
correct wah lau => walao
