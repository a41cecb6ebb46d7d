/* telebus: freestanding stand-in for the wasm32 build (no libc there). */
#include <stddef.h>
void* malloc(size_t n);
