#include "array_buffer_allocator.hpp"

#include <cstdlib>

namespace lightflus::js {

// Defined here, out of line, so that the vtable (and the typeinfo of the V8 base class it
// needs without RTTI) is emitted only in this -fno-rtti translation unit.
ArrayBufferAllocator::~ArrayBufferAllocator() = default;

void* ArrayBufferAllocator::Allocate(std::size_t length) {
  if (!reserve(length)) return nullptr;
  void* data = std::calloc(length == 0 ? 1 : length, 1);
  if (data == nullptr) allocated_.fetch_sub(length, std::memory_order_relaxed);
  return data;
}

void* ArrayBufferAllocator::AllocateUninitialized(std::size_t length) {
  if (!reserve(length)) return nullptr;
  void* data = std::malloc(length == 0 ? 1 : length);
  if (data == nullptr) allocated_.fetch_sub(length, std::memory_order_relaxed);
  return data;
}

void ArrayBufferAllocator::Free(void* data, std::size_t length) {
  std::free(data);
  allocated_.fetch_sub(length, std::memory_order_relaxed);
}

bool ArrayBufferAllocator::reserve(std::size_t length) {
  std::size_t current = allocated_.load(std::memory_order_relaxed);
  do {
    if (length > budget_ - current) return false;
  } while (!allocated_.compare_exchange_weak(current, current + length, std::memory_order_relaxed));
  return true;
}

}  // namespace lightflus::js
