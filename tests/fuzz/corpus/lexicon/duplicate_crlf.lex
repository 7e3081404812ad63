target lah L AA
target LAH L AH
