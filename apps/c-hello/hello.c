/* A tiny C program, linked statically so it needs no libc in the image. */
#include <stdio.h>

int main(void)
{
    puts("Hello from a static C program!");
    return 0;
}
