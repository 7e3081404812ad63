correct a b => x
correct a b c => y
correct y => z
# a b c a b y
