/**
 * vsoa-edge/files: files to and from boards over plain VSOA (an RPC plus a raw stream), after
 * clever-show's get_file/send_file. `server.serveFiles()` and `client.getFile/putFile/listFiles`
 * load this module on first use; it can also be used directly with any server or client.
 */

export type { GetFileOptions, TransferOptions, TransferResult } from './client.js';
export { getFile, listFiles, putFile } from './client.js';
export type { FileService, FilesLogger, ServeFilesOptions } from './serve.js';
export { serveFiles } from './serve.js';
export type { DirEntry, FileClient, FileHost, FileInfo, FileStream, Progress } from './types.js';
export { FileStatus, FileTransferError, fileStatusName } from './types.js';
