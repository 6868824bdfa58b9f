// Subscriptions over the graphql-transport-ws protocol, written out: connection_init with the
// token, connection_ack, subscribe, next / error / complete, ping / pong. One socket serves
// every subscription of the page; it reconnects (and subscribes again) when it drops.

import {ENDPOINT} from "./graphql.js";
import {accessToken} from "./session.js";

const PROTOCOL = "graphql-transport-ws";
const MAX_BACKOFF_MS = 30_000;

function socketUrl() {
  const url = new URL(ENDPOINT.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

class LiveConnection {
  constructor() {
    this.socket = null;
    this.ready = false;
    this.nextId = 1;
    this.operations = new Map(); // id -> {query, variables, onNext, onError, onStatus}
    this.backoff = 500;
    this.retry = null;
  }

  subscribe(query, variables, handlers) {
    const id = String(this.nextId++);
    this.operations.set(id, {query, variables, ...handlers});
    if (this.ready) this.start(id);
    else this.connect();
    return () => this.stop(id);
  }

  stop(id) {
    if (!this.operations.delete(id)) return;
    if (this.ready) this.send({id, type: "complete"});
    if (this.operations.size === 0) this.close();
  }

  start(id) {
    const {query, variables} = this.operations.get(id);
    this.send({id, type: "subscribe", payload: {query, variables}});
  }

  status(value) {
    for (const operation of this.operations.values()) operation.onStatus?.(value);
  }

  send(message) {
    this.socket.send(JSON.stringify(message));
  }

  connect() {
    if (this.socket) return;
    clearTimeout(this.retry);
    const socket = new WebSocket(socketUrl(), PROTOCOL);
    this.socket = socket;
    this.status("connecting");
    socket.addEventListener("open", () => {
      const token = accessToken();
      socket.send(JSON.stringify({
        type: "connection_init", payload: token ? {Authorization: `Bearer ${token}`} : {},
      }));
    });
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", () => this.closed(socket));
  }

  receive(message) {
    const operation = message.id ? this.operations.get(message.id) : null;
    switch (message.type) {
      case "connection_ack":
        this.ready = true;
        this.backoff = 500;
        for (const id of this.operations.keys()) this.start(id);
        this.status("live");
        break;
      case "ping":
        this.send({type: "pong"});
        break;
      case "next":
        if (operation && message.payload.data) operation.onNext(message.payload.data);
        if (operation && message.payload.errors) operation.onError?.(message.payload.errors);
        break;
      case "error":
        this.operations.delete(message.id);
        operation?.onError?.(message.payload);
        break;
      case "complete":
        this.operations.delete(message.id);
        break;
      default:
        break; // pong and anything newer: nothing to do
    }
  }

  closed(socket) {
    if (this.socket !== socket) return;
    this.socket = null;
    this.ready = false;
    if (this.operations.size === 0) return;
    // a fresh connection_init carries the current (refreshed) token
    this.status("reconnecting");
    this.retry = setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  close() {
    clearTimeout(this.retry);
    const socket = this.socket;
    this.socket = null;
    this.ready = false;
    if (socket) socket.close(1000, "done");
  }
}

const connection = new LiveConnection();

/**
 * Runs the subscription ``query``; ``handlers.onNext(data)`` gets every event,
 * ``handlers.onError(errors)`` refusals, ``handlers.onStatus(text)`` the connection's state.
 * Returns a function that ends the subscription.
 */
export function subscribe(query, variables, handlers) {
  return connection.subscribe(query, variables, handlers);
}

/** Closes the socket (on sign-out). */
export function disconnect() {
  connection.operations.clear();
  connection.close();
}
