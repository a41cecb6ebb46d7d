/* telebus: freestanding stand-in for the wasm32 build (no libc there). */
#include <stddef.h>
void* memcpy(void* dest, const void* src, size_t n);
