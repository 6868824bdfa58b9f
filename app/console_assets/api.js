// GraphQL as the signed-in user: renews the token once and retries when the server says
// UNAUTHENTICATED, and signs out when that fails too.

import {ApiError, post} from "./graphql.js";
import {accessToken, refresh} from "./session.js";

export {ApiError};

/** The data of ``query``; throws ApiError on errors. */
export async function gql(query, variables = {}) {
  try {
    return await post(query, variables, accessToken());
  } catch (error) {
    if (!(error instanceof ApiError) || !error.codes.includes("UNAUTHENTICATED")) throw error;
    await refresh();
    return post(query, variables, accessToken());
  }
}
