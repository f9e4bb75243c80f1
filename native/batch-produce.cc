// Hands a write's records to librdkafka in one call, off Node's main thread.
//
// The Kafka client (@confluentinc/kafka-javascript) takes one record per produce() call: each call
// crosses into C++, copies the topic name, builds a headers object and looks the topic up by name,
// about 1.2 µs of the main thread per record, a quarter of Spillway's. Here the main thread only
// copies a write's keys, values and headers into one block (about 0.25 µs a record), and a libuv
// worker thread gives them to the same librdkafka producer with rd_kafka_producev().
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

#include <atomic>
#include <chrono>
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

// A write, as the main thread laid it out: for each record, in `layout`, its topic (an index into
// `topics`), partition, key length, value length (-1: null) and header count, then each header's
// name and value lengths; the bytes of its key, value and headers follow one another in `bytes`;
// its timestamp in `timestamps` (0: librdkafka stamps the time it is produced).
struct Job {
  uv_work_t request;
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
  v8::Global<v8::Function> callback;
  v8::Global<v8::Context> v8_context;
  node::async_context context;
  // Results.
  uint32_t produced = 0;
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
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
  size_t fields = 2 + 2 * static_cast<size_t>(entry[4]);
  if (job.layout_at + 3 + fields > job.layout_length) return false;
  size_t length = 0;
  for (size_t f = 0; f < fields; f++) length += entry[2 + f] < 0 ? 0 : entry[2 + f];
  return job.bytes_at + length <= job.bytes_length;
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
  rd_kafka_resp_err_t error = headers == nullptr
    ? rd_kafka_producev(job.producer, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key.data, key.length),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data), value.length), RD_KAFKA_V_TIMESTAMP(timestamp), RD_KAFKA_V_END)
    : rd_kafka_producev(job.producer, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key.data, key.length),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data), value.length), RD_KAFKA_V_TIMESTAMP(timestamp),
                        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
  if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
    job.layout_at += 5 + 2 * static_cast<size_t>(header_count);
    job.produced++;
  } else {
    // Not taken: librdkafka did not take the headers either, and the record is tried again.
    if (headers != nullptr) rd_kafka_headers_destroy(headers);
    job.bytes_at = bytes_at;
  }
  return error;
}

// On the worker thread. A full queue (queue.buffering.max.messages / .kbytes) is waited out, as
// Java's send() blocks, for at most max.block.ms, unless the writer stops or the producer fails.
void Work(uv_work_t* request) {
  Job& job = *static_cast<Job*>(request->data);
  std::vector<rd_kafka_topic_t*> topics;
  for (const std::string& name : job.topics) topics.push_back(rd_kafka_topic_new(job.producer, name.c_str(), nullptr));
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
}

// Back on the main thread: callback(produced, errorCode, errorText).
void Done(uv_work_t* request, int) {
  Job* job = static_cast<Job*>(request->data);
  v8::Isolate* isolate = job->isolate;
  v8::HandleScope scope(isolate);
  v8::Local<v8::Context> v8_context = job->v8_context.Get(isolate);
  v8::Context::Scope context_scope(v8_context);
  v8::Local<v8::Function> callback = job->callback.Get(isolate);
  v8::Local<v8::Value> argv[] = {
    v8::Number::New(isolate, job->produced),
    v8::Number::New(isolate, job->error),
    Text(isolate, rd_kafka_err2str(job->error)),
  };
  node::async_context context = job->context;
  delete job;
  node::MakeCallback(isolate, v8_context->Global(), callback, 3, argv, context);
  node::EmitAsyncDestroy(isolate, context);
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
//         bytes: Uint8Array, maxBlockMs, stop: Int32Array, callback(produced, errorCode, errorText))
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
  job->callback.Reset(isolate, info[8].As<v8::Function>());
  job->v8_context.Reset(isolate, context);
  job->context = node::EmitAsyncInit(isolate, v8::Object::New(isolate), "SpillwayProduce");
  job->request.data = job;
  uv_queue_work(node::GetCurrentEventLoop(isolate), &job->request, Work, Done);
}

}  // namespace

NODE_MODULE_INIT() {
  v8::Isolate* isolate = context->GetIsolate();
  auto name = [&](const char* text) { return v8::String::NewFromUtf8(isolate, text, v8::NewStringType::kInternalized).ToLocalChecked(); };
  exports->Set(context, name("produce"), v8::FunctionTemplate::New(isolate, Produce)->GetFunction(context).ToLocalChecked()).Check();
  (void)module;
}
