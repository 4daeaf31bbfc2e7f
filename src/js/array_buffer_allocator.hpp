// ArrayBufferAllocator: the memory behind a JsIsolate's ArrayBuffers and typed arrays.
//
// ArrayBuffer contents live outside the V8 heap, so the heap limit does not cover them. This
// allocator counts them and refuses to go beyond its own budget; V8 then throws a catchable
// `RangeError: Array buffer allocation failed` in the job instead of the process running out of
// memory.
#pragma once

#include <v8-array-buffer.h>

#include <atomic>
#include <cstddef>

namespace lightflus::js {

/// A v8::ArrayBuffer::Allocator (malloc-backed) with a budget in bytes. Thread safe: V8 may
/// free backing stores from its GC threads.
class ArrayBufferAllocator final : public v8::ArrayBuffer::Allocator {
 public:
  explicit ArrayBufferAllocator(std::size_t budget) : budget_(budget) {}
  ~ArrayBufferAllocator() override;

  void* Allocate(std::size_t length) override;
  void* AllocateUninitialized(std::size_t length) override;
  void Free(void* data, std::size_t length) override;

  /// Bytes currently allocated.
  std::size_t allocated() const noexcept { return allocated_.load(std::memory_order_relaxed); }

 private:
  bool reserve(std::size_t length);

  const std::size_t budget_;
  std::atomic<std::size_t> allocated_{0};
};

}  // namespace lightflus::js
