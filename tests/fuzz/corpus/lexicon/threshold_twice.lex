target lah L AA
threshold 0.5 lah
threshold 0.2 LAH
keyword_weight 0.1
keyword_weight 0.2
