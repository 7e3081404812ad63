target lah L AX
