// A WebSocket that comes back by itself. It reports its state honestly through onstate:
// 'connecting', 'connected', 'reconnecting' (with the delay before the next attempt) and
// 'disconnected' (only when the user asked for it). Retries back off exponentially with
// jitter, from 0.5 s up to 15 s, and reset once a connection has opened.

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;

export class ReconnectingSocket {
  constructor({ onstate, onopen, onmessage, onclose }) {
    this.onstate = onstate;
    this.onopen = onopen;
    this.onmessage = onmessage;
    this.onclose = onclose;
    this.ws = null;
    this.url = null;
    this.attempt = 0;
    this.timer = null;
    this.wanted = false;
  }

  get open() { return this.ws?.readyState === WebSocket.OPEN; }

  connect(url) {
    this.url = url;
    this.wanted = true;
    this.attempt = 0;
    this.#dropSocket();
    this.#open('connecting');
  }

  disconnect() {
    this.wanted = false;
    this.#dropSocket();
    this.onstate({ state: 'disconnected' });
  }

  /// Returns false when not connected (nothing is queued while offline).
  send(text) {
    if (!this.open) return false;
    this.ws.send(text);
    return true;
  }

  /// Reconnect now instead of waiting for the backoff timer.
  retryNow() {
    if (this.wanted && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.#open('reconnecting');
    }
  }

  #dropSocket() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(1000);
    }
  }

  #open(state) {
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      // A malformed URL: retrying cannot help.
      this.wanted = false;
      this.onstate({ state: 'disconnected', error: `That endpoint is not a WebSocket URL: ${e.message}` });
      return;
    }
    this.ws = ws;
    this.onstate({ state, attempt: this.attempt });
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.onstate({ state: 'connected' });
      this.onopen();
    };
    ws.onmessage = (e) => this.onmessage(e.data);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onclose({ code: e.code, reason: e.reason, opened });
      if (!this.wanted) return;
      const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempt) * (0.8 + 0.4 * Math.random());
      this.attempt += 1;
      this.onstate({ state: 'reconnecting', delayMs: delay, attempt: this.attempt, code: e.code, reason: e.reason, opened });
      this.timer = setTimeout(() => { this.timer = null; this.#open('reconnecting'); }, delay);
    };
  }
}
