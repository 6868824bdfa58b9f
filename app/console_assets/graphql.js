// One GraphQL request over HTTP; the endpoint is the page's own (data-graphql on #app).

export const ENDPOINT = new URL(
  document.getElementById("app")?.dataset.graphql || "/graphql", window.location.href,
);

/** A GraphQL request that came back with errors; ``codes`` holds their extensions.code. */
export class ApiError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; ") || "request failed");
    this.name = "ApiError";
    this.errors = errors;
    this.codes = errors.map((e) => e.extensions?.code).filter(Boolean);
  }
}

/** POSTs ``query`` with ``variables`` (and the bearer ``token`` when given); returns data. */
export async function post(query, variables = {}, token = null) {
  const headers = {"content-type": "application/json", accept: "application/json"};
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST", headers, body: JSON.stringify({query, variables}),
    });
  } catch (error) {
    throw new ApiError([{message: `The server cannot be reached (${error.message})`,
                         extensions: {code: "NETWORK"}}]);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // an empty or non-JSON answer is reported below with the HTTP status
  }
  if (!body) {
    throw new ApiError([{message: `HTTP ${response.status}`, extensions: {code: "HTTP"}}]);
  }
  if (body.errors && body.errors.length) throw new ApiError(body.errors);
  return body.data;
}
