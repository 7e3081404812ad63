target läh L AA
