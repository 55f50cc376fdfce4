/*
 * The allocator the component model's canonical ABI asks the guest for. Exported, it is also where
 * the preview1 adapter keeps its state. Without it, wit-component (jco new) gives the adapter pages
 * of its own with memory.grow, right where wasi-libc's sbrk heap grows next: the heap then overran
 * the adapter's state and the next WASI call trapped, so the guest needed all its memory up front.
 * With it, the heap grows from a small initial memory, and a host can reuse and clear what a run
 * used instead of mapping 256 MiB each time.
 */
#include <stdlib.h>

__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *ptr, size_t old_size, size_t align,
                                                                 size_t new_size) {
  (void)old_size;
  /* malloc aligns to 16 bytes, more than the canonical ABI ever asks (8). */
  if (align > 16) abort();
  if (new_size == 0) {
    free(ptr);
    return (void *)align;
  }
  void *moved = realloc(ptr, new_size);
  if (moved == NULL) abort();
  return moved;
}
