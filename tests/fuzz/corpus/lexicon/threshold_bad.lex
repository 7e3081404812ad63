threshold 0.3 lor
target lah L AA
threshold 2 lah
threshold 0.1 lah lah
keyword_weight 0
keyword_weight 1e-99999
