// Package falcon is the operator's client for the CrowdStrike Falcon API: installation tokens,
// their audit log, the customer's token settings and the CCID.
//
// Build one [Client] per credential with [New] (or share them through a [Cache]); every method
// is safe for concurrent use. A Client
//   - talks to a named cloud from [Endpoints], or finds the API client's cloud itself
//     ([CloudAutodiscover]), following the token redirect only to a configured endpoint;
//   - fetches one OAuth2 access token and reuses it until shortly before it expires, fetching
//     a new one once when the API answers 401;
//   - stops sending anything after a 429 until the Retryafter time (calls fail fast with a
//     [*RateLimitError]) and spaces requests out when few remain in the rate window;
//   - exports Prometheus metrics on controller-runtime's registry.
//
// Every failed call returns an [*APIError], a [*RateLimitError] or a transport error naming the
// operation; classify them with [IsNotFound], [IsConflict], [IsUnauthorized], [IsForbidden],
// [IsInvalidCredentials], [MissingScope], [IsServerError] and [RetryAt]. No error, String
// method or metric label carries the client secret, an access token or a token value: the
// Client scrubs the secrets it knows from every error, even where a proxy echoed them, and
// [Redact] scrubs those the caller knows.
//
// A token is tied to its owner by a marker at the end of its label ([MarkLabel], [HasMarker]),
// which [Client.FindTokensByMarker] and [Client.FindValidMarkedTokenIDs] look up.
//
// Put user input into FQL filters only through [QuoteFQL].
package falcon
