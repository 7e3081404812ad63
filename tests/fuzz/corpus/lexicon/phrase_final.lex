target lah L AA
target lor L AO
threshold 0.1 lah
phrase_final 0.15 lah lor
phrase_final 0.2 lor
phrase_final 99 lah
