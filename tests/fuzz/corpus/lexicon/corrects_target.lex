correct lah => la
target lah L AA
