// Spillway's write path into librdkafka, in two parts.
//
// produce(): a write's records in one call, off Node's main thread. The Kafka client
// (@confluentinc/kafka-javascript) takes one record per produce() call: each call crosses into
// C++, copies the topic name, builds a headers object and looks the topic up by name, about 1.2 µs
// of the main thread per record. Here the main thread lays a write out in three arrays
// (batch-producer.ts), and a libuv worker thread gives it to librdkafka with rd_kafka_producev().
//
// conf_init(): this module is also a librdkafka plugin, whose interceptor counts each partition's
// acknowledgements, so that a write is told once its own records are acknowledged.
//
// The producer is the client's own: its native object keeps the C++ connection in internal field
// 0 (Nan's ObjectWrap), whose exported GetClient() returns the librdkafka handle. This addon links
// the same librdkafka.so.1 the client loaded, so both speak to one library instance.

#include <dlfcn.h>
#include <link.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <node.h>
#include <node_buffer.h>
#include <uv.h>
#include <v8.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

using GetClientFn = RdKafka::Handle* (*)(void* connection);
GetClientFn get_client = nullptr;

// The client's native module, found among the loaded objects by its file name.
int FindClientModule(struct dl_phdr_info* info, size_t, void* found) {
  const char* name = info->dlpi_name;
  const char* suffix = "/confluent-kafka-javascript.node";
  size_t length = std::strlen(name), suffix_length = std::strlen(suffix);
  if (length >= suffix_length && std::strcmp(name + length - suffix_length, suffix) == 0) {
    *static_cast<std::string*>(found) = name;
    return 1;
  }
  return 0;
}

v8::Local<v8::String> Text(v8::Isolate* isolate, const char* text) {
  return v8::String::NewFromUtf8(isolate, text).ToLocalChecked();
}

void Throw(v8::Isolate* isolate, const std::string& message) {
  isolate->ThrowException(v8::Exception::Error(Text(isolate, message.c_str())));
}

// A JavaScript function to call back later, from the event loop, with its context and the async
// context Node's async hooks follow it by.
struct Callback {
  v8::Global<v8::Function> function;
  v8::Global<v8::Context> context;
  node::async_context async_context{};

  void Reset(v8::Isolate* isolate, v8::Local<v8::Function> callee, v8::Local<v8::Context> in, const char* name) {
    function.Reset(isolate, callee);
    context.Reset(isolate, in);
    async_context = node::EmitAsyncInit(isolate, v8::Object::New(isolate), name);
  }

  bool IsEmpty() const { return function.IsEmpty(); }

  // Calls it once; `arguments` makes its arguments, inside the callback's context.
  template <typename Arguments>
  void Call(v8::Isolate* isolate, Arguments arguments) {
    v8::HandleScope scope(isolate);
    v8::Local<v8::Context> in = context.Get(isolate);
    v8::Context::Scope context_scope(in);
    std::vector<v8::Local<v8::Value>> argv = arguments();
    v8::Local<v8::Function> callee = function.Get(isolate);
    node::async_context called = async_context;
    function.Reset();
    context.Reset();
    node::MakeCallback(isolate, in->Global(), callee, static_cast<int>(argv.size()), argv.data(), called);
    node::EmitAsyncDestroy(isolate, called);
  }
};

// -- Acknowledgements ---------------------------------------------------------------------------
//
// The client's delivery reports come for failed records only (a report per record costs the
// binding a JavaScript object each). So that a write learns when its own records are acknowledged,
// this module is also a librdkafka plugin (plugin.library.paths): its on_acknowledgement
// interceptor counts, per partition, the records librdkafka acknowledged or failed. librdkafka
// acknowledges an idempotent producer's records of a partition in the order they were produced, so
// a write's records on a partition are all acknowledged once that partition's count reaches what
// had been produced there by the end of the write.

// librdkafka's broker thread is the busiest thread of a large write, so the path of each
// acknowledgement takes no lock and hashes no topic name: a record's partition is found by its
// topic handle (message->rkt) in tables read without the lock, its count is one atomic increment,
// and the main thread is woken only when a partition reaches a count a waiting write needs there
// (`wake_at`): about once per partition a write wrote to, not per record (waking an idle event loop
// is a write() to its eventfd). What is new (a topic, a partition) and every failure take the
// lock: they are rare.
//
// Memory ordering:
// - `acknowledged` is incremented with an atomic read-modify-write: librdkafka acknowledges on
//   several threads (each broker's, its main thread for timed-out records, the producing thread
//   when partitioning fails), and no increment may be lost. A success carries nothing but the
//   count, so the main thread's acquiring read of the counter is all it needs. A failure's
//   increment and its Failure record are made together under AckState::mutex, under which the
//   main thread reads both: a count it reads there never includes a failure it cannot see.
// - `wake_at` is written by the main thread only, and read by the counting threads after their
//   increment. Both sides use sequentially consistent operations: the main thread stores
//   `wake_at`, then reads `acknowledged` again; a counting thread increments `acknowledged`, then
//   reads `wake_at`. In their single total order one of the two comes second and sees the other's
//   write, so either the counting thread wakes the main thread, or the main thread sees the count
//   itself; a wake is never lost. (On x86 the counting thread's side costs what it would anyway:
//   a locked add and a plain load.)
// - `produced` is plain: only the producer's jobs write and read it, one job at a time, and each
//   job starts after the previous one ended (libuv's work queue hands each over through the main
//   thread). The main thread reads only the ranges a job copied out of it, after the job is done.

constexpr int64_t kNever = INT64_MAX;

struct PartitionAcks {
  // Counted by the producer's jobs, on the worker thread (see the memory ordering above).
  int64_t produced = 0;
  // Counted by librdkafka's threads; a failure's count under AckState::mutex.
  std::atomic<int64_t> acknowledged{0};
  // The smallest count a waiting write needs here, kNever for none; written by the main thread only.
  std::atomic<int64_t> wake_at{kNever};
};

struct Failure {
  const PartitionAcks* partition;
  int64_t ordinal;  // the failed record's place among its partition's acknowledgements, from 1
  rd_kafka_resp_err_t error;
  std::string topic;
  int32_t partition_id;
};

// A write waiting for its records: for each partition it wrote to, the produced counts before and after it.
struct Range {
  PartitionAcks* partition;
  int64_t from;
  int64_t to;
};

struct Waiter {
  std::vector<Range> ranges;
  Callback callback;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

// Pointers by index, read on any thread without AckState::mutex and written under it. A slot is
// filled in place; an index past the end replaces the array by a larger copy. The arrays replaced
// stay until the state goes, as another thread may still be reading one.
template <typename T>
class GrowingArray {
 public:
  T* Find(size_t index) const {
    const Slots* slots = current_.load(std::memory_order_acquire);
    if (slots == nullptr || index >= slots->size) return nullptr;
    return slots->at[index].load(std::memory_order_acquire);
  }

  // Under AckState::mutex.
  void Put(size_t index, T* value) {
    Slots* slots = current_.load(std::memory_order_relaxed);
    if (slots != nullptr && index < slots->size) {
      slots->at[index].store(value, std::memory_order_release);
      return;
    }
    size_t size = std::max(index + 1, slots == nullptr ? size_t{8} : 2 * slots->size);
    auto grown = std::make_unique<Slots>(size);
    if (slots != nullptr) {
      for (size_t i = 0; i < slots->size; i++) grown->at[i].store(slots->at[i].load(std::memory_order_relaxed), std::memory_order_relaxed);
    }
    grown->at[index].store(value, std::memory_order_relaxed);
    // Released with the array: a reader that finds it finds its slots filled.
    current_.store(grown.get(), std::memory_order_release);
    arrays_.push_back(std::move(grown));
  }

 private:
  struct Slots {
    explicit Slots(size_t length) : size(length), at(std::make_unique<std::atomic<T*>[]>(length)) {}
    size_t size;
    std::unique_ptr<std::atomic<T*>[]> at;
  };
  std::atomic<Slots*> current_{nullptr};
  // Under AckState::mutex.
  std::vector<std::unique_ptr<Slots>> arrays_;
};

// One topic's counts, by partition.
struct TopicAcks {
  GrowingArray<PartitionAcks> partitions;
};

// The topics by their librdkafka handle, read on any thread without AckState::mutex and written
// under it: an open-addressed table, filled in place and replaced by one twice as large once half
// full (the tables replaced stay until the state goes, as for GrowingArray). A handle names one
// topic for the producer's life: librdkafka keeps a producer's topic objects until the producer
// is destroyed (each holds its partitions, which hold it), so a handle's address is not reused
// while acknowledgements come.
class TopicsByHandle {
 public:
  TopicAcks* Find(const rd_kafka_topic_t* handle) const {
    const Table* table = current_.load(std::memory_order_acquire);
    if (table == nullptr) return nullptr;
    for (size_t slot = table->Home(handle);; slot = (slot + 1) & table->mask) {
      const Entry* entry = table->slots[slot].load(std::memory_order_acquire);
      if (entry == nullptr) return nullptr;
      if (entry->handle == handle) return entry->topic;
    }
  }

  // Under AckState::mutex, for a handle not yet in the table.
  void Put(const rd_kafka_topic_t* handle, TopicAcks* topic) {
    entries_.push_back(std::make_unique<Entry>(Entry{handle, topic}));
    Table* table = current_.load(std::memory_order_relaxed);
    if (table != nullptr && 2 * entries_.size() <= table->mask + 1) {
      Place(*table, entries_.back().get(), std::memory_order_release);
      return;
    }
    auto grown = std::make_unique<Table>(table == nullptr ? 3 : table->bits + 1);
    for (const std::unique_ptr<Entry>& entry : entries_) Place(*grown, entry.get(), std::memory_order_relaxed);
    // Released with the table: a reader that finds it finds its entries.
    current_.store(grown.get(), std::memory_order_release);
    tables_.push_back(std::move(grown));
  }

 private:
  struct Entry {
    const rd_kafka_topic_t* handle;
    TopicAcks* topic;
  };
  struct Table {
    explicit Table(unsigned size_bits)
      : bits(size_bits), mask((size_t{1} << size_bits) - 1), slots(std::make_unique<std::atomic<const Entry*>[]>(mask + 1)) {}
    // Fibonacci hashing, the product's high bits: an allocation's low bits are all zero.
    size_t Home(const rd_kafka_topic_t* handle) const {
      return static_cast<size_t>((static_cast<uint64_t>(reinterpret_cast<uintptr_t>(handle)) * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - bits));
    }
    unsigned bits;
    size_t mask;
    std::unique_ptr<std::atomic<const Entry*>[]> slots;
  };

  static void Place(Table& table, const Entry* entry, std::memory_order order) {
    size_t slot = table.Home(entry->handle);
    while (table.slots[slot].load(std::memory_order_relaxed) != nullptr) slot = (slot + 1) & table.mask;
    table.slots[slot].store(entry, order);
  }

  std::atomic<Table*> current_{nullptr};
  // Under AckState::mutex.
  std::vector<std::unique_ptr<Entry>> entries_;
  std::vector<std::unique_ptr<Table>> tables_;
};

// One producer's counts, from its configuration's plugin initialization to its destruction.
struct AckState {
  std::mutex mutex;
  // Under `mutex`: each topic's counts by name (a topic is counted once, whichever handle names
  // it), and every partition's, kept here so that Waiter ranges and Failure records can point at
  // them until the state goes.
  std::unordered_map<std::string, std::unique_ptr<TopicAcks>, StringHash, std::equal_to<>> topics;
  std::vector<std::unique_ptr<PartitionAcks>> partitions;
  // Read without `mutex`, written under it.
  TopicsByHandle topics_by_handle;
  // Under `mutex`.
  std::vector<Failure> failures;
  bool failures_overflowed = false;
  bool async_open = false;
  // librdkafka is done with this state: its producer is gone.
  bool finished = false;
  // The main thread's.
  uv_async_t async;
  std::list<Waiter*> waiters;
  // The partitions whose `wake_at` is set.
  std::vector<PartitionAcks*> armed;
  v8::Isolate* isolate = nullptr;
};

constexpr size_t kMaxFailures = 1024;
constexpr const char* kInterceptor = "spillway-acknowledgements";

std::mutex registry_mutex;
std::unordered_map<rd_kafka_t*, AckState*> registry;

// A record with no partition yet (RD_KAFKA_PARTITION_UA) counts with partition 0.
size_t IndexOf(int32_t partition) { return partition < 0 ? 0 : static_cast<size_t>(partition); }

// Any thread, without the lock: a partition's counts, or nullptr if they are not made yet.
PartitionAcks* FindPartition(const AckState& state, const rd_kafka_topic_t* handle, size_t index) {
  TopicAcks* topic = state.topics_by_handle.Find(handle);
  return topic == nullptr ? nullptr : topic->partitions.Find(index);
}

// Under state.mutex: a partition's counts, made when first met.
PartitionAcks* PartitionOf(AckState& state, const rd_kafka_topic_t* handle, size_t index) {
  TopicAcks* topic = state.topics_by_handle.Find(handle);
  if (topic == nullptr) {
    std::string_view name = rd_kafka_topic_name(handle);
    auto found = state.topics.find(name);
    if (found == state.topics.end()) found = state.topics.emplace(std::string(name), std::make_unique<TopicAcks>()).first;
    topic = found->second.get();
    state.topics_by_handle.Put(handle, topic);
  }
  PartitionAcks* partition = topic->partitions.Find(index);
  if (partition == nullptr) {
    state.partitions.push_back(std::make_unique<PartitionAcks>());
    partition = state.partitions.back().get();
    topic->partitions.Put(index, partition);
  }
  return partition;
}

// On librdkafka's threads: count, and wake the main thread if it waits for this count.
rd_kafka_resp_err_t OnAcknowledgement(rd_kafka_t*, rd_kafka_message_t* message, void* opaque) {
  AckState& state = *static_cast<AckState*>(opaque);
  size_t index = IndexOf(message->partition);
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Counted and recorded under the lock, together (see the memory ordering above).
    bool wake;
    {
      std::lock_guard<std::mutex> lock(state.mutex);
      PartitionAcks* partition = PartitionOf(state, message->rkt, index);
      int64_t ordinal = partition->acknowledged.fetch_add(1) + 1;
      if (state.failures.size() < kMaxFailures) {
        state.failures.push_back({partition, ordinal, message->err, rd_kafka_topic_name(message->rkt), message->partition});
      } else {
        state.failures_overflowed = true;
      }
      wake = state.async_open && !state.finished;
    }
    if (wake) uv_async_send(&state.async);
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  PartitionAcks* partition = FindPartition(state, message->rkt, index);
  if (partition == nullptr) {
    std::lock_guard<std::mutex> lock(state.mutex);
    partition = PartitionOf(state, message->rkt, index);
  }
  int64_t count = partition->acknowledged.fetch_add(1) + 1;
  // Only the main thread's OnAsync sets `wake_at`, on an open handle, and librdkafka acknowledges
  // nothing once the producer is gone (OnConfDestroy), so the handle is open here.
  if (count >= partition->wake_at.load()) uv_async_send(&state.async);
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t OnNew(rd_kafka_t* producer, const rd_kafka_conf_t*, void* opaque, char* errstr, size_t errstr_size) {
  rd_kafka_resp_err_t error = rd_kafka_interceptor_add_on_acknowledgement(producer, kInterceptor, OnAcknowledgement, opaque);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(errstr, errstr_size, "Spillway's acknowledgement counter could not be added: %s", rd_kafka_err2str(error));
    return error;
  }
  std::lock_guard<std::mutex> lock(registry_mutex);
  registry[producer] = static_cast<AckState*>(opaque);
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

void CloseAsync(AckState* state) {
  uv_close(reinterpret_cast<uv_handle_t*>(&state->async), [](uv_handle_t* handle) {
    delete static_cast<AckState*>(handle->data);
  });
}

// Called when the configuration is destroyed: for a producer's, once librdkafka has stopped.
rd_kafka_resp_err_t OnConfDestroy(void* opaque) {
  AckState* state = static_cast<AckState*>(opaque);
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    for (auto entry = registry.begin(); entry != registry.end(); ++entry) {
      if (entry->second == state) {
        registry.erase(entry);
        break;
      }
    }
  }
  bool open;
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->finished = true;
    open = state->async_open;
  }
  // The main thread closes its handle, then deletes it; without one, nothing else holds it.
  if (open) uv_async_send(&state->async);
  else delete state;
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

// Under state.mutex: whether a waiter is settled, and how: 1 acknowledged, 0 not yet, -1 failed
// (`failure` set). Failures cannot be added meanwhile (they take the mutex), only counts grow.
int Settled(const AckState& state, const Waiter& waiter, const Failure** failure) {
  int settled = 1;
  for (const Range& range : waiter.ranges) {
    for (const Failure& candidate : state.failures) {
      if (candidate.partition == range.partition && candidate.ordinal > range.from && candidate.ordinal <= range.to) {
        *failure = &candidate;
        return -1;
      }
    }
    if (range.partition->acknowledged.load(std::memory_order_acquire) < range.to) settled = 0;
  }
  if (settled == 0 && state.failures_overflowed && !state.failures.empty()) {
    *failure = &state.failures.front();
    return -1;
  }
  return settled;
}

// acknowledged(errorCode, errorText, topic, partition)
void Settle(v8::Isolate* isolate, Waiter* waiter, rd_kafka_resp_err_t error, const std::string& topic, int32_t partition) {
  waiter->callback.Call(isolate, [&]() -> std::vector<v8::Local<v8::Value>> {
    return {v8::Number::New(isolate, error), Text(isolate, rd_kafka_err2str(error)), Text(isolate, topic.c_str()), v8::Number::New(isolate, partition)};
  });
  delete waiter;
}

// On the main thread, under state.mutex: asks to be woken once the first of the waiter's ranges
// not yet acknowledged is, by lowering its partition's `wake_at` to the range's end; a failure
// wakes the main thread anyway. False when, by the time that is set, every range is acknowledged
// (then nothing may wake it: the caller looks at the waiter again).
bool Arm(AckState& state, const Waiter& waiter) {
  for (const Range& range : waiter.ranges) {
    PartitionAcks& partition = *range.partition;
    if (partition.acknowledged.load(std::memory_order_acquire) >= range.to) continue;
    int64_t wake_at = partition.wake_at.load(std::memory_order_relaxed);  // the main thread's own
    if (wake_at == kNever) state.armed.push_back(&partition);
    if (range.to < wake_at) partition.wake_at.store(range.to);
    // Read again after the store, in the same total order as the counting threads' increments
    // and reads (see the memory ordering above): still short, the last of its records wakes us.
    if (partition.acknowledged.load() < range.to) return true;
  }
  return false;
}

// Under state.mutex: no partition wakes the main thread until it is armed again.
void Disarm(AckState& state) {
  for (PartitionAcks* partition : state.armed) partition->wake_at.store(kNever);
  state.armed.clear();
}

// On the main thread: settles the writes whose records are all acknowledged, or one of which
// failed, and arms a partition for each write still waiting.
void OnAsync(uv_async_t* handle) {
  AckState* state = static_cast<AckState*>(handle->data);
  struct Outcome {
    Waiter* waiter;
    rd_kafka_resp_err_t error;
    std::string topic;
    int32_t partition;
  };
  std::vector<Outcome> outcomes;
  bool finished;
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    finished = state->finished;
    Disarm(*state);
    for (auto waiter = state->waiters.begin(); waiter != state->waiters.end();) {
      const Failure* failure = nullptr;
      int settled = Settled(*state, **waiter, &failure);
      // Arm() fails only once every range is acknowledged, so this looks at a waiter once more at most.
      while (settled == 0 && !finished && !Arm(*state, **waiter)) settled = Settled(*state, **waiter, &failure);
      if (settled == 0 && !finished) {
        ++waiter;
        continue;
      }
      if (settled == 1) outcomes.push_back({*waiter, RD_KAFKA_RESP_ERR_NO_ERROR, "", -1});
      else if (settled == -1) outcomes.push_back({*waiter, failure->error, failure->topic, failure->partition_id});
      else outcomes.push_back({*waiter, RD_KAFKA_RESP_ERR__DESTROY, "", -1});
      waiter = state->waiters.erase(waiter);
    }
  }
  if (state->waiters.empty()) uv_unref(reinterpret_cast<uv_handle_t*>(handle));
  v8::Isolate* isolate = state->isolate;
  if (finished) CloseAsync(state);
  for (Outcome& outcome : outcomes) Settle(isolate, outcome.waiter, outcome.error, outcome.topic, outcome.partition);
}

AckState* AckStateOf(rd_kafka_t* producer) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto found = registry.find(producer);
  return found == registry.end() ? nullptr : found->second;
}

struct Job;

// A producer's writes are produced in the order they were given, one after another by one libuv
// worker thread (a "drain"), which goes on to the next write given meanwhile without waiting for
// the main thread: the main thread queues a write here, and hears of each one produced through
// `reported`. A drain runs while writes are queued and ends when none are, so a producer holds at
// most one of libuv's threads (which file system calls share), however many writes it is given.
struct ProduceOrder {
  std::mutex mutex;
  std::deque<Job*> queued;     // under `mutex`: given, not yet taken by the drain
  std::vector<Job*> produced;  // under `mutex`: produced (or failed), not yet reported
  bool draining = false;       // under `mutex`: a drain is queued or running
  uv_async_t reported;         // wakes the main thread for `produced`
  // The main thread's own.
  rd_kafka_t* producer = nullptr;
  uint32_t pending = 0;  // writes given and not yet reported
  uint32_t drains = 0;   // drains queued whose completion has not reached the main thread
};

// Each producer's order while it has writes pending; the main thread's own.
std::unordered_map<rd_kafka_t*, ProduceOrder*> orders;

// A write, as the main thread laid it out: for each record, in `layout`, its topic (an index into
// `topics`), partition, key length, value length (-1: null) and header count, then each header's
// name and value lengths; the bytes of its key, value and headers follow one another in `bytes`;
// its timestamp in `timestamps` (0: librdkafka stamps the time it is produced).
struct Job {
  v8::Isolate* isolate;
  rd_kafka_t* producer;
  std::vector<std::string> topics;
  uint32_t count;
  const int32_t* layout;
  size_t layout_length;
  const double* timestamps;
  const char* bytes;
  size_t bytes_length;
  int64_t max_block_ms;
  const int32_t* stop;
  // Hold the arrays above (and the caller's stop flag) until the work is done.
  v8::Global<v8::Value> layout_array, timestamps_array, bytes_array, stop_array;
  Callback done;
  // The producer's counts, when it loaded this module as its plugin; `acknowledged` is told once
  // the records are acknowledged, when the caller asked.
  AckState* acks = nullptr;
  v8::Global<v8::Function> acknowledged;
  // Results.
  uint32_t produced = 0;
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
  // For `acks`: each topic's partitions written to (by index in `topics`), and their ranges.
  std::vector<std::vector<PartitionAcks*>> partitions;
  std::vector<Range> ranges;
  // Where the worker is in `layout` and `bytes`.
  size_t layout_at = 0;
  size_t bytes_at = 0;
};

struct Field {
  const char* data;  // nullptr: null
  size_t length;
};

// A zero-length key or value is empty, not null: librdkafka tells them apart by the pointer.
Field Take(Job& job, int32_t length) {
  static const char empty = 0;
  if (length < 0) return {nullptr, 0};
  Field field{length == 0 ? &empty : job.bytes + job.bytes_at, static_cast<size_t>(length)};
  job.bytes_at += length;
  return field;
}

// Whether the next record's layout and bytes lie within what was given (a wrong layout is refused,
// never read past).
bool WithinBounds(const Job& job) {
  if (job.layout_at + 5 > job.layout_length) return false;
  const int32_t* entry = job.layout + job.layout_at;
  if (entry[0] < 0 || static_cast<size_t>(entry[0]) >= job.topics.size() || entry[4] < 0) return false;
  size_t header_fields = 2 * static_cast<size_t>(entry[4]);
  if (job.layout_at + 5 + header_fields > job.layout_length) return false;
  auto bytes = [](int32_t length) { return length < 0 ? size_t{0} : static_cast<size_t>(length); };
  size_t length = bytes(entry[2]) + bytes(entry[3]);
  for (size_t f = 0; f < header_fields; f++) length += bytes(entry[5 + f]);
  return job.bytes_at + length <= job.bytes_length;
}

// One more record produced to a partition (on the worker thread). The job finds a partition's
// counts once, with its first record there; the lock only when they are not made yet.
void Count(Job& job, int32_t topic, const rd_kafka_topic_t* handle, int32_t partition) {
  std::vector<PartitionAcks*>& partitions = job.partitions[topic];
  size_t index = IndexOf(partition);
  if (partitions.size() <= index) partitions.resize(index + 1, nullptr);
  PartitionAcks*& counts = partitions[index];
  if (counts == nullptr) {
    counts = FindPartition(*job.acks, handle, index);
    if (counts == nullptr) {
      std::lock_guard<std::mutex> lock(job.acks->mutex);
      counts = PartitionOf(*job.acks, handle, index);
    }
    job.ranges.push_back({counts, counts->produced, 0});
  }
  counts->produced++;
}

rd_kafka_resp_err_t ProduceNext(Job& job, const std::vector<rd_kafka_topic_t*>& topics) {
  if (!WithinBounds(job)) return RD_KAFKA_RESP_ERR__INVALID_ARG;
  const int32_t* entry = job.layout + job.layout_at;
  rd_kafka_topic_t* topic = topics[entry[0]];
  if (topic == nullptr) return rd_kafka_last_error();
  int32_t partition = entry[1] < 0 ? RD_KAFKA_PARTITION_UA : entry[1];
  size_t bytes_at = job.bytes_at;
  Field key = Take(job, entry[2]);
  Field value = Take(job, entry[3]);
  int32_t header_count = entry[4];
  rd_kafka_headers_t* headers = nullptr;
  if (header_count > 0) {
    headers = rd_kafka_headers_new(header_count);
    for (int32_t h = 0; h < header_count; h++) {
      Field name = Take(job, entry[5 + 2 * h]);
      Field header_value = Take(job, entry[6 + 2 * h]);
      rd_kafka_header_add(headers, name.data, name.length, header_value.data, header_value.length);
    }
  }
  int64_t timestamp = static_cast<int64_t>(job.timestamps[job.produced]);
  // No headers: a null RD_KAFKA_V_HEADERS, which librdkafka takes as none.
  rd_kafka_resp_err_t error =
    rd_kafka_producev(job.producer, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                      RD_KAFKA_V_KEY(key.data, key.length), RD_KAFKA_V_VALUE(const_cast<char*>(value.data), value.length),
                      RD_KAFKA_V_TIMESTAMP(timestamp), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
  if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
    job.layout_at += 5 + 2 * static_cast<size_t>(header_count);
    job.produced++;
    if (job.acks != nullptr) Count(job, entry[0], topic, partition);
  } else {
    // Not taken: librdkafka did not take the headers either, and the record is tried again.
    if (headers != nullptr) rd_kafka_headers_destroy(headers);
    job.bytes_at = bytes_at;
  }
  return error;
}

// On the worker thread. A full queue (queue.buffering.max.messages / .kbytes) is waited out, as
// Java's send() blocks, for at most max.block.ms, unless the writer stops or the producer fails.
void ProduceRecords(Job& job) {
  std::vector<rd_kafka_topic_t*> topics;
  for (const std::string& name : job.topics) topics.push_back(rd_kafka_topic_new(job.producer, name.c_str(), nullptr));
  job.partitions.resize(job.topics.size());
  using Clock = std::chrono::steady_clock;
  Clock::time_point blocked_since;
  bool blocked = false;
  while (job.produced < job.count) {
    rd_kafka_resp_err_t error = ProduceNext(job, topics);
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
      blocked = false;
      continue;
    }
    if (error != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      job.error = error;
      break;
    }
    if (!blocked) blocked_since = Clock::now(), blocked = true;
    bool stopped = std::atomic_ref<const int32_t>(*job.stop).load() != 0;
    bool fatal = rd_kafka_fatal_error(job.producer, nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR;
    if (stopped || fatal || Clock::now() - blocked_since > std::chrono::milliseconds(job.max_block_ms)) {
      job.error = error;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (rd_kafka_topic_t* topic : topics) {
    if (topic != nullptr) rd_kafka_topic_destroy(topic);
  }
  for (Range& range : job.ranges) range.to = range.partition->produced;
}

// On a worker thread: the producer's queued writes, in order, until none is left.
void Drain(uv_work_t* request) {
  ProduceOrder& order = *static_cast<ProduceOrder*>(request->data);
  for (;;) {
    Job* job;
    {
      std::lock_guard<std::mutex> lock(order.mutex);
      if (order.queued.empty()) {
        order.draining = false;
        return;
      }
      job = order.queued.front();
      order.queued.pop_front();
    }
    ProduceRecords(*job);
    {
      std::lock_guard<std::mutex> lock(order.mutex);
      order.produced.push_back(job);
    }
    uv_async_send(&order.reported);
  }
}

// The job's records wait for their acknowledgements; the producer's handle wakes the main thread.
void Wait(Job& job, v8::Local<v8::Context> context) {
  AckState& state = *job.acks;
  Waiter* waiter = new Waiter();
  waiter->ranges = std::move(job.ranges);
  waiter->callback.Reset(job.isolate, job.acknowledged.Get(job.isolate), context, "SpillwayAcknowledgement");
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    if (!state.async_open) {
      state.isolate = job.isolate;
      uv_async_init(node::GetCurrentEventLoop(job.isolate), &state.async, OnAsync);
      state.async.data = &state;
      state.async_open = true;
    }
    state.waiters.push_back(waiter);
  }
  // A write waiting for acknowledgements keeps the process alive, as a pending flush did.
  uv_ref(reinterpret_cast<uv_handle_t*>(&state.async));
  uv_async_send(&state.async);
}

// Back on the main thread: callback(produced, errorCode, errorText).
void Finish(Job* job) {
  v8::Isolate* isolate = job->isolate;
  if (!job->acknowledged.IsEmpty() && job->error == RD_KAFKA_RESP_ERR_NO_ERROR) {
    v8::HandleScope scope(isolate);
    v8::Local<v8::Context> context = job->done.context.Get(isolate);
    v8::Context::Scope context_scope(context);
    Wait(*job, context);
  }
  job->done.Call(isolate, [&]() -> std::vector<v8::Local<v8::Value>> {
    return {v8::Number::New(isolate, job->produced), v8::Number::New(isolate, job->error), Text(isolate, rd_kafka_err2str(job->error))};
  });
  delete job;
}

// With no write pending and no drain left to report, no worker thread uses the order: it goes
// (its handle closes first, then it is deleted).
void CloseIfIdle(ProduceOrder* order) {
  if (order->pending > 0 || order->drains > 0) return;
  orders.erase(order->producer);
  uv_close(reinterpret_cast<uv_handle_t*>(&order->reported), [](uv_handle_t* handle) { delete static_cast<ProduceOrder*>(handle->data); });
}

// On the main thread: reports the writes produced since the last time, in order. A report's
// callback may give the producer its next write, which counts as pending before this one stops.
void OnReported(uv_async_t* handle) {
  ProduceOrder* order = static_cast<ProduceOrder*>(handle->data);
  std::vector<Job*> jobs;
  {
    std::lock_guard<std::mutex> lock(order->mutex);
    jobs.swap(order->produced);
  }
  for (Job* job : jobs) {
    Finish(job);
    order->pending--;
  }
  CloseIfIdle(order);
}

void DrainDone(uv_work_t* request, int) {
  ProduceOrder* order = static_cast<ProduceOrder*>(request->data);
  delete request;
  order->drains--;
  CloseIfIdle(order);
}

// Queues a write for its producer's drain, starting one if none runs.
void Enqueue(v8::Isolate* isolate, Job* job) {
  ProduceOrder*& order = orders[job->producer];
  if (order == nullptr) {
    order = new ProduceOrder();
    order->producer = job->producer;
    uv_async_init(node::GetCurrentEventLoop(isolate), &order->reported, OnReported);
    order->reported.data = order;
  }
  order->pending++;
  bool start;
  {
    std::lock_guard<std::mutex> lock(order->mutex);
    order->queued.push_back(job);
    start = !order->draining;
    order->draining = true;
  }
  if (!start) return;
  // A request of its own: the last drain's may not have reached the main thread yet.
  uv_work_t* drain = new uv_work_t();
  drain->data = order;
  order->drains++;
  uv_queue_work(node::GetCurrentEventLoop(isolate), drain, Drain, DrainDone);
}

rd_kafka_t* ProducerOf(v8::Isolate* isolate, v8::Local<v8::Value> client) {
  if (get_client == nullptr) {
    std::string path;
    dl_iterate_phdr(FindClientModule, &path);
    void* module = path.empty() ? nullptr : dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (module != nullptr) get_client = reinterpret_cast<GetClientFn>(dlsym(module, "_ZN9NodeKafka10Connection9GetClientEv"));
    if (get_client == nullptr) {
      Throw(isolate, "the Kafka client's native module (confluent-kafka-javascript.node) is not loaded or has no Connection::GetClient()");
      return nullptr;
    }
  }
  if (!client->IsObject() || client.As<v8::Object>()->InternalFieldCount() < 1) {
    Throw(isolate, "produce: the first argument must be the Kafka client's native producer");
    return nullptr;
  }
  RdKafka::Handle* handle = get_client(client.As<v8::Object>()->GetAlignedPointerFromInternalField(0));
  if (handle == nullptr) {
    Throw(isolate, "produce: the producer is not connected");
    return nullptr;
  }
  return handle->c_ptr();
}

template <typename T>
const T* Elements(v8::Local<v8::ArrayBufferView> view) {
  return reinterpret_cast<const T*>(static_cast<const char*>(view->Buffer()->Data()) + view->ByteOffset());
}

// produce(client, topics: string[], count, layout: Int32Array, timestamps: Float64Array,
//         bytes: Uint8Array, maxBlockMs, stop: Int32Array, callback(produced, errorCode, errorText),
//         acknowledged?(errorCode, errorText, topic, partition))
// `acknowledged` is called once every record is acknowledged (errorCode 0), or with the first
// failed record's partition; only for a producer that loaded this module as its plugin.
void Produce(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  if (info.Length() < 9 || !info[1]->IsArray() || !info[2]->IsUint32() || !info[3]->IsInt32Array() ||
      !info[4]->IsFloat64Array() || !info[5]->IsUint8Array() || !info[6]->IsNumber() || !info[7]->IsInt32Array() ||
      !info[8]->IsFunction()) {
    Throw(isolate, "produce(client, topics, count, layout, timestamps, bytes, maxBlockMs, stop, callback): wrong arguments");
    return;
  }
  rd_kafka_t* producer = ProducerOf(isolate, info[0]);
  if (producer == nullptr) return;
  v8::Local<v8::Array> topics = info[1].As<v8::Array>();
  uint32_t count = info[2].As<v8::Uint32>()->Value();
  v8::Local<v8::Int32Array> layout = info[3].As<v8::Int32Array>();
  v8::Local<v8::Float64Array> timestamps = info[4].As<v8::Float64Array>();
  v8::Local<v8::Uint8Array> bytes = info[5].As<v8::Uint8Array>();
  v8::Local<v8::Int32Array> stop = info[7].As<v8::Int32Array>();
  if (timestamps->Length() < count || layout->Length() < 5 * static_cast<size_t>(count) || stop->Length() < 1) {
    Throw(isolate, "produce: the layout, timestamps or stop flag are shorter than the records");
    return;
  }

  // A producer with the plugin counts every record it produces, whether or not this write waits.
  AckState* acks = AckStateOf(producer);
  bool waits = info.Length() > 9 && info[9]->IsFunction();
  if (waits && acks == nullptr) {
    Throw(isolate, "produce: this producer was created without Spillway's acknowledgement plugin (plugin.library.paths), so it cannot tell when records are acknowledged");
    return;
  }

  Job* job = new Job();
  job->isolate = isolate;
  job->producer = producer;
  for (uint32_t t = 0; t < topics->Length(); t++) {
    v8::String::Utf8Value name(isolate, topics->Get(context, t).ToLocalChecked());
    job->topics.emplace_back(*name, name.length());
  }
  job->count = count;
  job->layout = Elements<int32_t>(layout);
  job->layout_length = layout->Length();
  job->timestamps = Elements<double>(timestamps);
  job->bytes = Elements<char>(bytes);
  job->bytes_length = bytes->Length();
  job->max_block_ms = static_cast<int64_t>(info[6].As<v8::Number>()->Value());
  job->stop = Elements<int32_t>(stop);
  job->layout_array.Reset(isolate, layout);
  job->timestamps_array.Reset(isolate, timestamps);
  job->bytes_array.Reset(isolate, bytes);
  job->stop_array.Reset(isolate, stop);
  job->done.Reset(isolate, info[8].As<v8::Function>(), context, "SpillwayProduce");
  job->acks = acks;
  if (waits) job->acknowledged.Reset(isolate, info[9].As<v8::Function>());
  Enqueue(isolate, job);
}

}  // namespace

// librdkafka's plugin entry point, for each configuration that names this module in
// plugin.library.paths.
extern "C" __attribute__((visibility("default"))) rd_kafka_resp_err_t conf_init(rd_kafka_conf_t* conf, void** plugin_opaque, char* errstr, size_t errstr_size) {
  AckState* state = new AckState();
  *plugin_opaque = nullptr;
  rd_kafka_resp_err_t error = rd_kafka_conf_interceptor_add_on_new(conf, kInterceptor, OnNew, state);
  if (error == RD_KAFKA_RESP_ERR_NO_ERROR) error = rd_kafka_conf_interceptor_add_on_conf_destroy(conf, kInterceptor, OnConfDestroy, state);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(errstr, errstr_size, "Spillway's acknowledgement counter could not be set up: %s", rd_kafka_err2str(error));
    return error;
  }
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

NODE_MODULE_INIT() {
  v8::Isolate* isolate = context->GetIsolate();
  auto name = [&](const char* text) { return v8::String::NewFromUtf8(isolate, text, v8::NewStringType::kInternalized).ToLocalChecked(); };
  exports->Set(context, name("produce"), v8::FunctionTemplate::New(isolate, Produce)->GetFunction(context).ToLocalChecked()).Check();
  (void)module;
}
