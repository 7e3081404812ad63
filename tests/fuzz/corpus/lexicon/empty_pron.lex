target lah L AA |
