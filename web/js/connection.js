// One WebSocket connection to the server's /ws endpoint and the std-1 frame
// discipline on it (§7): requests carry a fresh `ref`, each gets exactly one
// reply, broadcasts are handed on in arrival order, and a close fails every
// request still waiting (STD1-WIRE-5).

/** Subprotocol this client offers (STD1-WIRE-2). */
const SUBPROTOCOL = 'stelgano.std-1';

/** The reason of the 1008 close that ends a replaced record's sessions (STD1-JOIN-25). */
export const RECORD_REPLACED = 'record_replaced';

/** Same origin, `/ws`, nothing in the URL but the path (STD1-WIRE-1, STD1-SEC-5). */
function socketUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

/** Raised for requests whose outcome is unknown because the connection ended. */
export class ConnectionLost extends Error {
  constructor() {
    super('connection lost');
    this.name = 'ConnectionLost';
  }
}

export class Connection {
  /**
   * @param {{onBroadcast: (event: string, data: object) => void, onClose: (code: number, reason: string) => void}} handlers
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.pending = new Map();
    this.nextRef = 1;
    this.closed = false;
    this.closedByUs = false;
    this.socket = null;
  }

  /** Opens the socket; resolves once it is open, rejects if it cannot be. */
  open() {
    return new Promise((resolve, reject) => {
      let socket;
      try {
        socket = new WebSocket(socketUrl(), SUBPROTOCOL);
      } catch (error) {
        reject(error);
        return;
      }
      this.socket = socket;
      let opened = false;
      socket.addEventListener('open', () => {
        opened = true;
        resolve();
      });
      socket.addEventListener('message', (event) => this.receive(event.data));
      socket.addEventListener('close', (event) => {
        this.finish();
        if (!opened) reject(new ConnectionLost());
        else if (!this.closedByUs) this.handlers.onClose(event.code, event.reason);
      });
      socket.addEventListener('error', () => {
        // The close event follows and does the work.
      });
    });
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (!frame || typeof frame !== 'object') return;
    if ('ref' in frame) {
      const entry = this.pending.get(frame.ref);
      if (!entry) {
        // A reply we cannot attribute (`"ref": null` answers an invalid
        // frame): this client's view can no longer be trusted, so start over.
        this.close();
        this.handlers.onClose(4000, 'unattributable reply');
        return;
      }
      this.pending.delete(frame.ref);
      entry.resolve(frame.error ? { error: frame.error } : { ok: frame.ok });
    } else if (typeof frame.event === 'string') {
      // Broadcasts are applied in arrival order (STD1-WIRE-30); unknown ones
      // are ignored by the receiver (STD1-WIRE-31).
      this.handlers.onBroadcast(frame.event, frame.data || {});
    }
  }

  /**
   * Sends a request; resolves with `{ok}` or `{error}`, or rejects with
   * ConnectionLost when the connection ends first (outcome unknown).
   */
  request(event, data) {
    if (this.closed || !this.socket || this.socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new ConnectionLost());
    }
    // Refs count up from 1 per connection, fresh for every request (STD1-WIRE-9).
    const ref = String(this.nextRef++);
    return new Promise((resolve, reject) => {
      this.pending.set(ref, { resolve, reject });
      this.socket.send(JSON.stringify({ event, ref, data }));
    });
  }

  finish() {
    if (this.closed) return;
    this.closed = true;
    for (const { reject } of this.pending.values()) reject(new ConnectionLost());
    this.pending.clear();
  }

  /** Closes on purpose (lock, leave, expiry): no close callback follows. */
  close() {
    this.closedByUs = true;
    this.finish();
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) this.socket.close(1000);
  }
}
