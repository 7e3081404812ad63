# parley lexicon v2
target lah L AA | L AH
target walao W AA L AW
background 30 0.05 2 0.1
