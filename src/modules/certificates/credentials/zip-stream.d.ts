/** Types for zip-stream 7 (the package ships none): the parts this module uses. */
declare module 'zip-stream' {
  import { Transform } from 'node:stream';
  interface EntryData {
    name: string;
    date?: Date | string;
    store?: boolean;
    comment?: string;
    mode?: number;
  }
  export default class ZipStream extends Transform {
    constructor(options?: { store?: boolean; forceZip64?: boolean; comment?: string; zlib?: object });
    entry(source: Buffer | string | NodeJS.ReadableStream, data: EntryData, callback: (err: Error | null) => void): this;
    finalize(): void;
    getBytesWritten(): number;
  }
}
