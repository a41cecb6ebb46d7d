/* telebus: freestanding stand-in for the wasm32 build (no libc there); Ryu's asserts are checks of its own invariants. */
#define assert(x) ((void)0)
