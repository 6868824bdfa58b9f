// The signed-in session: tokens from `login`, renewed by `refreshToken` before they expire,
// kept in sessionStorage (this tab only) so a reload keeps the user signed in.

import {ApiError, post} from "./graphql.js";

const STORAGE_KEY = "crm.console.session";
const REFRESH_MARGIN_MS = 60_000; // renew a minute before the access token expires
const TOKEN_FIELDS = "accessToken expiresAt refreshToken refreshTokenExpiresAt";

const LOGIN = `mutation ConsoleLogin($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    ${TOKEN_FIELDS} errors { code field message }
  }
}`;
const REFRESH = `mutation ConsoleRefresh($token: String!) {
  refreshToken(token: $token) { ${TOKEN_FIELDS} errors { code message } }
}`;
const ACCEPT = `mutation ConsoleAcceptInvitation($token: String!, $name: String!, $password: String!) {
  acceptInvitation(token: $token, name: $name, password: $password) {
    ${TOKEN_FIELDS} errors { code field message }
  }
}`;
const RESET = `mutation ConsoleResetPassword($token: String!, $password: String!) {
  resetPassword(token: $token, password: $password) {
    ${TOKEN_FIELDS} errors { code field message }
  }
}`;
const LOGOUT = `mutation ConsoleLogout($token: String) {
  logout(refreshToken: $token) { revoked errors { message } }
}`;

let state = load();
let timer = null;
let refreshing = null;
const listeners = new Set();

function load() {
  try {
    return JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "null");
  } catch {
    return null;
  }
}

function store(next) {
  state = next;
  if (next) window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  else window.sessionStorage.removeItem(STORAGE_KEY);
  schedule();
  for (const listener of listeners) listener(next);
}

function schedule() {
  clearTimeout(timer);
  timer = null;
  if (!state) return;
  const due = Date.parse(state.expiresAt) - REFRESH_MARGIN_MS - Date.now();
  timer = setTimeout(() => refresh().catch(() => store(null)), Math.max(due, 1_000));
}

function tokens(payload) {
  const {accessToken, expiresAt, refreshToken, refreshTokenExpiresAt} = payload;
  return {accessToken, expiresAt, refreshToken, refreshTokenExpiresAt};
}

/** The current access token, or null when signed out. */
export function accessToken() {
  return state ? state.accessToken : null;
}

/** Calls ``listener(sessionOrNull)`` whenever the user signs in, is refreshed or signs out. */
export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Signs in; returns the API's field errors (empty on success). */
export async function login(email, password) {
  const {login: payload} = await post(LOGIN, {email, password});
  if (payload.errors.length) return payload.errors;
  store(tokens(payload));
  return [];
}

/** Accepts an emailed invitation (choosing a name and password) and signs in; returns the
 * API's field errors (empty on success). */
export async function acceptInvitation(token, name, password) {
  const {acceptInvitation: payload} = await post(ACCEPT, {token, name, password});
  if (payload.errors.length) return payload.errors;
  store(tokens(payload));
  return [];
}

/** Sets a new password with an emailed reset link and signs in; returns the API's errors. */
export async function resetPassword(token, password) {
  const {resetPassword: payload} = await post(RESET, {token, password});
  if (payload.errors.length) return payload.errors;
  store(tokens(payload));
  return [];
}

/** Trades the refresh token for new tokens (one exchange at a time); throws when refused. */
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      if (!state) throw new ApiError([{message: "signed out", extensions: {code: "UNAUTHENTICATED"}}]);
      const {refreshToken: payload} = await post(REFRESH, {token: state.refreshToken});
      if (payload.errors.length) {
        store(null);
        throw new ApiError(payload.errors);
      }
      store(tokens(payload));
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** Signs out on the server (revoking the refresh token) and forgets the tokens here. */
export async function logout() {
  const current = state;
  store(null);
  if (current) {
    try {
      await post(LOGOUT, {token: current.refreshToken}, current.accessToken);
    } catch {
      // signed out here either way; an expired access token cannot revoke, the refresh
      // token then simply lapses
    }
  }
}

schedule();
