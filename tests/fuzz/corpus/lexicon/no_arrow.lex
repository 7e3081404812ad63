correct la lah
