/* telebus: freestanding stand-in for the wasm32 build (no libc there). */
#include <stdint.h>
