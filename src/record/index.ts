/**
 * vsoa-edge/record: record VSOA publishes into MCAP files (Foxglove, Lichtblick and the mcap
 * tools open them), read them back, and replay them as a VSOA server. A separate entry point:
 * the core package never loads it (nor its compression codecs).
 */
export type { Compression } from './codec.js';
export { COMPRESSIONS } from './codec.js';
export type { PartKind } from './convention.js';
export { EVENTS_TOPIC, RAW_ENCODING, RECORDING_METADATA, SERVER_METADATA, topicOf } from './convention.js';
export type { ChannelInfo, RecordingInfo } from './info.js';
export { recordedServerInfo, recorderMetadata, recordingInfo } from './info.js';
export type { Damage, RecordedPublish } from './reader.js';
export { openRecording, Recording, RecordingError } from './reader.js';
export type { RecorderStats, RecorderSummary, StopReason } from './recorder.js';
export { createRecorder, Recorder } from './recorder.js';
export type { RecorderOptions } from './recorder-options.js';
export type { ReplayOptions, ReplayProgress, ReplaySummary } from './replayer.js';
export { createReplayer, Replayer } from './replayer.js';
