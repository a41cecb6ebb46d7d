/**
 * redis-streamer's GraphQL schema as SDL (camelCased, as its Strawberry server answers), with or without the
 * device parts, and built once per variant. The resolvers are in graphql.ts.
 *
 * @module
 */
import { buildSchema, type GraphQLSchema } from "npm:graphql@^16.11.0";

/** The schema's SDL; without device prefixing, `Device` and the device mutations are left out, as the original does. */
export function streamerSdl(devicePrefixing: boolean): string {
  const dev = (text: string) => devicePrefixing ? text : "";
  return `
"Any JSON value."
scalar JSON
"Text (entry ids, stream ids)."
scalar Utf8
"Bytes, as base64 text."
scalar Base64

type Query {
  ${
    dev(`"Connected devices, or every device seen with includeAll, or those named."
  devices(ids: [String!] = null, includeAll: Boolean! = false): [Device!]!
  device(id: String! = "default"): Device!`)
  }
  "Stream keys (below prefix, which is stripped) matching match; with searchMeta also those with only meta."
  streamIds(match: String = null, searchMeta: Boolean! = false, prefix: String! = ""): [String!]!
  "Streams by id, or those matching match (streams with only meta included)."
  streams(ids: [String!] = null, match: String = null, prefix: String! = ""): [Stream!]!
  stream(id: String!): Stream!
}
${
    dev(`
"A device: its streams are the keys {id}:…, shown without the prefix."
type Device {
  id: String!
  meta: JSON!
  streamIds: [String!]!
  streams: [Stream!]!
  stream(streamId: String!): Stream!
}`)
  }
"A stream with the facts of XINFO STREAM; a missing key has error \\"no such key\\" and defaults."
type Stream {
  id: String!
  firstEntryId: Utf8!
  lastEntryId: Utf8!
  lastGeneratedId: Utf8!
  recordedFirstEntryId: Utf8!
  maxDeletedEntryId: Utf8!
  radixTreeKeys: Int!
  radixTreeNodes: Int!
  groups: Int!
  length: Int!
  entriesAdded: Int!
  error: String!
  meta: JSON!
  "Time of the entry id: ISO 8601 UTC by default (or \\"iso\\"), \\"ms\\", \\"s\\", or a strftime pattern (UTC)."
  firstEntryTime(format: String! = ""): String!
  lastEntryTime(format: String! = ""): String!
  firstEntryData: Base64!
  lastEntryData: Base64!
  firstEntryString: String!
  lastEntryString: String!
  "The entry parsed as JSON (its text when it is not JSON; {} when there is none)."
  firstEntryJson: JSON!
  lastEntryJson: JSON!
}

type Mutation {
  "Deletes everything in the store (FLUSHDB); returns 1."
  flush: Int!
  "Sets (or with update merges into) a stream's JSON meta: {meta_set}."
  updateStreamMeta(streamId: String!, meta: JSON!, deviceId: String! = "default", update: Boolean! = false): JSON!
  "Deletes a stream and its meta: {data_deleted, meta_deleted, stream_deleted}."
  deleteStream(streamId: String!, deviceId: String! = "default"): JSON!
  ${
    dev(`"Marks a device connected and sets its meta, firing the device events."
  connectDevice(deviceId: String!, meta: JSON!): JSON!
  "Sets a device's meta, firing device.meta."
  updateDeviceMeta(deviceId: String!, meta: JSON!): JSON!
  "Marks a device disconnected, firing device.connected."
  disconnectDevice(deviceId: String!): JSON!`)
  }
}

type Subscription {
  "New entries of streams (a list of ids, an a+b string, or {id: cursor}); one DataPayload per entry when count is 0, else one DataPayloads per stream and read."
  streams(streamIds: JSON!, device: String, count: Int! = 0, block: Int! = 5000, latest: Boolean! = false): DataPayloadsDataPayload!
}

union DataPayloadsDataPayload = DataPayloads | DataPayload

type DataPayload {
  streamId: Utf8!
  time: Utf8!
  data: Base64!
  string(format: String! = "utf-8"): String!
  json: JSON!
}

type DataPayloads {
  streamId: Utf8!
  time: [Utf8!]!
  data: [Base64!]!
  string(format: String! = "utf-8"): [String!]!
  json: [JSON!]!
}
`;
}

const schemas = new Map<boolean, GraphQLSchema>();

/** The executable schema (built once per variant). */
export function streamerSchema(devicePrefixing: boolean): GraphQLSchema {
  let s = schemas.get(devicePrefixing);
  if (!s) schemas.set(devicePrefixing, s = buildSchema(streamerSdl(devicePrefixing)));
  return s;
}
