target lah L AA | L AH
correct la => lah
correct wah lau => walao
