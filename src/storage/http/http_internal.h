/*-------------------------------------------------------------------------
 * http_internal.h
 *	  Shared between the files of src/storage/http/ only.
 *-------------------------------------------------------------------------
 */
#ifndef DR_HTTP_INTERNAL_H
#define DR_HTTP_INTERNAL_H

#include "storage/http/http.h"

/* The client's service name for messages ("s3"; "http" when not given). */
extern const char *httpClientService(const HttpClient *client);

/* Set response->requestId from its headers (http_response.c). */
extern void httpResponseIdsRead(HttpResponse *response);

#endif							/* DR_HTTP_INTERNAL_H */
