/**
 * The quick receive buffer our server and the raw floor's sockets ask for: BENCH_QUICK_RCVBUF
 * bytes, else the library's default (DEFAULT_QUICK_RECV_BUFFER_SIZE, 32 MiB; the raw sides do not
 * load the library, so it is repeated here once).
 */
const fromEnv = process.env.BENCH_QUICK_RCVBUF;

/** Whether BENCH_QUICK_RCVBUF chose the size (our server then passes it as quickRecvBufferSize). */
export const QUICK_RCVBUF_CHOSEN = Boolean(fromEnv);
export const QUICK_RCVBUF_BYTES = fromEnv ? Number(fromEnv) : 32 * 1024 * 1024;
