export * from './errors.ts';
export * from './model/schema.ts';
export * from './model/table.ts';
export * from './model/live-table.ts';
export * from './model/period.ts';
export * from './model/position.ts';
export * from './sources/source.ts';
export * from './sources/static-table.ts';
export * from './sources/input-table.ts';
export * from './sources/time-table.ts';
export * from './sources/iterable-table.ts';
export * from './sources/file-table.ts';
export { aggByOptionsSchema, aggregationSchema, avg, count, max, min, sum, type AggByOptions, type Aggregation, type Aggregations } from './model/aggregations.ts';
export * from './formats/encoder.ts';
export * from './formats/key-value-spec.ts';
export { influxSpecSchema, type InfluxSpec } from './formats/influx.ts';
export { AvroWireFormat, SubjectNameStrategy, avroRegistrySchema, avroSpecSchema, type AvroEncoder, type AvroSpec } from './formats/avro.ts';
export { encodeMessageIndexes, protobufSpecSchema, type ProtobufEncoder, type ProtobufSpec } from './formats/protobuf.ts';
export * from './formats/schema-registry.ts';
export * from './kafka/record-writer.ts';
export * from './kafka/producer-settings.ts';
export * from './kafka/kafka-properties.ts';
export * from './kafka/partitioners.ts';
export * from './kafka/murmur2.ts';
export * from './kafka/memory-writer.ts';
export {
  createKafkaWriter,
  createTopic,
  describeCluster,
  followTopic,
  readTopic,
  type FollowTopicOptions,
  type ReadRecord,
  type TopicFollower,
} from './kafka/kafka-client.ts';
export * from './sink/sink-spec.ts';
export * from './sink/sink.ts';
export type { SinkProgress } from './sink/epoch-clock.ts';
export * from './sink/plan.ts';
export * from './sink/open-sink.ts';
export * from './sink/spec-json-schema.ts';
export * from './sink/progress.ts';
export * from './sink/checkpoint-location.ts';
export * from './sink/transactional-id.ts';
export * from './sink/update-modes.ts';
export * from './dialects/deephaven.ts';
export * from './dialects/flux.ts';
export * from './sources/kafka-topic-table.ts';
export * from './sources/sampledata.ts';
export * from './sources/spark-kafka-source.ts';
export * from './dialects/spark.ts';
export * from './dialects/feldera.ts';
export { parseColumns, runSql, runSqlFile, translateSql, validateSql, validateSqlFile, type SqlJob, type SqlProgram, type SqlValidation, type RunSqlOptions, type SqlOptions } from './dialects/sql/job.ts';
export * from './sources/datagen-table.ts';
export * from './broker/embedded-broker.ts';
export * from './broker/embedded-registry.ts';
