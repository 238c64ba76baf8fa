/// The OpenAPI 3.1 document of every route (SPEC.md 4.14), served at `GET /openapi.json`.
/// Kept here as the one copy: `OpenAPITests` fails when a route exists that it does not
/// describe or the other way round, and `make test` runs Schemathesis against a live
/// server with it as the input.
enum OpenAPIDocument {
    static let json = #"""
            {
              "openapi": "3.1.0",
              "info": {
                "title": "Broker",
                "version": "2",
                "description": "An event log with a real-time HTTP front: insert an event (a name and any JSON), subscribe with Server-Sent Events to the latest value of every name and then every change, read any name's history. SPEC.md section 4 is the full contract; this document describes every route, parameter, header, body and error shape of it. Every error is `{\"error\": \"...\"}` and a rejected request never changes the log."
              },
              "servers": [
                {
                  "url": "/"
                }
              ],
              "security": [
                {},
                {
                  "bearer": []
                },
                {
                  "cookie": []
                }
              ],
              "paths": {
                "/insert": {
                  "post": {
                    "operationId": "insert",
                    "summary": "Insert one record, or a batch stored all or none (SPEC 4.2)",
                    "parameters": [
                      {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": false,
                        "description": "1 to 255 bytes of printable ASCII: a repeat of the same request is answered from the log instead of appended again (SPEC 3.6).",
                        "schema": {
                          "type": "string",
                          "minLength": 1,
                          "maxLength": 255,
                          "pattern": "^[\\x20-\\x7E]+$"
                        }
                      }
                    ],
                    "requestBody": {
                      "required": true,
                      "content": {
                        "application/json": {
                          "schema": {
                            "oneOf": [
                              {
                                "$ref": "#/components/schemas/InsertEntry"
                              },
                              {
                                "type": "array",
                                "minItems": 1,
                                "description": "At most --max-batch entries (default 10,000), stored all or none.",
                                "items": {
                                  "$ref": "#/components/schemas/InsertEntry"
                                }
                              }
                            ]
                          }
                        },
                        "application/x-ndjson": {
                          "schema": {
                            "type": "string",
                            "description": "One InsertEntry object a line; blank lines are skipped."
                          }
                        }
                      }
                    },
                    "responses": {
                      "200": {
                        "description": "Durable under the server's fsync policy. One record: the stored record; a JSON array: the stored records in order; NDJSON: a summary. With `Idempotent-Replayed: true` this is a replay of the first answer.",
                        "headers": {
                          "Idempotent-Replayed": {
                            "description": "`true` when the answer is a replay of an earlier request with the same key.",
                            "schema": {
                              "type": "string",
                              "enum": [
                                "true"
                              ]
                            }
                          }
                        },
                        "content": {
                          "application/json": {
                            "schema": {
                              "oneOf": [
                                {
                                  "$ref": "#/components/schemas/Record"
                                },
                                {
                                  "type": "array",
                                  "items": {
                                    "$ref": "#/components/schemas/Record"
                                  }
                                },
                                {
                                  "$ref": "#/components/schemas/BatchSummary"
                                }
                              ]
                            }
                          }
                        }
                      },
                      "400": {
                        "description": "Invalid JSON or UTF-8, a missing or invalid `event`, a missing `data`, an `expectedSeq` out of range, nesting deeper than 512, an empty batch, an invalid Idempotency-Key; in a batch the error names the element or the line.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "401": {
                        "description": "Access control is on and the request has no valid token (SPEC 4.11); `WWW-Authenticate: Bearer` says why.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "403": {
                        "description": "A valid token whose scope does not cover the request; the error names the refused event.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "404": {
                        "description": "Not found.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "409": {
                        "description": "An `expectedSeq` does not hold; nothing is stored.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "oneOf": [
                                {
                                  "$ref": "#/components/schemas/Conflict"
                                },
                                {
                                  "$ref": "#/components/schemas/BatchConflict"
                                }
                              ]
                            }
                          }
                        }
                      },
                      "413": {
                        "description": "The body is larger than `--max-body`, or a batch has more than `--max-batch` records.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "415": {
                        "description": "`Content-Type` is neither application/json nor application/x-ndjson.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "422": {
                        "description": "The Idempotency-Key is known with another request.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "503": {
                        "description": "The log could not store the batch, or the idempotency table is full (with `Retry-After`); nothing is stored.",
                        "headers": {
                          "Retry-After": {
                            "description": "Seconds until a key expires (a full idempotency table).",
                            "schema": {
                              "type": "string"
                            }
                          }
                        },
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      }
                    }
                  }
                },
                "/events": {
                  "get": {
                    "operationId": "events",
                    "summary": "Server-Sent Events: the latest record of every name, then every record as it becomes visible (SPEC 4.3)",
                    "description": "A stream that does not end: each record is `id: <seq>`, `event: <name>` and `data: <json>` (or with `envelope=1`, no `event:` line and `data: {\"event\",\"timestamp\",\"data\"}`). With `Last-Event-ID` (or `lastEventId`) every record after that seq instead of the snapshot.",
                    "parameters": [
                      {
                        "name": "event",
                        "in": "query",
                        "required": false,
                        "description": "Only these names (repeatable).",
                        "schema": {
                          "type": "array",
                          "items": {
                            "$ref": "#/components/schemas/EventName"
                          }
                        },
                        "style": "form",
                        "explode": true
                      },
                      {
                        "name": "prefix",
                        "in": "query",
                        "required": false,
                        "description": "Only names starting with one of these (repeatable).",
                        "schema": {
                          "type": "array",
                          "items": {
                            "$ref": "#/components/schemas/EventName"
                          }
                        },
                        "style": "form",
                        "explode": true
                      },
                      {
                        "name": "envelope",
                        "in": "query",
                        "required": false,
                        "schema": {
                          "type": "string",
                          "enum": [
                            "1",
                            "0",
                            "true",
                            "false"
                          ]
                        }
                      },
                      {
                        "name": "lastEventId",
                        "in": "query",
                        "required": false,
                        "description": "The resume point when the header cannot be set.",
                        "schema": {
                          "type": "integer",
                          "minimum": 0,
                          "maximum": 18446744073709551615
                        }
                      },
                      {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": false,
                        "description": "Resume after this seq (the header wins over the query).",
                        "schema": {
                          "type": "integer",
                          "minimum": 0,
                          "maximum": 18446744073709551615
                        }
                      }
                    ],
                    "responses": {
                      "200": {
                        "description": "The event stream.",
                        "content": {
                          "text/event-stream": {
                            "schema": {
                              "type": "string"
                            }
                          }
                        }
                      },
                      "400": {
                        "description": "A resume point that is not a seq, an invalid name or prefix, an `envelope` that is not 1, 0, true or false.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "401": {
                        "description": "Access control is on and the request has no valid token (SPEC 4.11); `WWW-Authenticate: Bearer` says why.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "403": {
                        "description": "A valid token whose scope does not cover the request; the error names the refused event.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "503": {
                        "description": "A JetStream front behind its stream did not reach the resume point within 5 s, or could not ask the stream (SPEC 7.3): retry.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      }
                    }
                  }
                },
                "/audit/{event}": {
                  "get": {
                    "operationId": "audit",
                    "summary": "One name's records, oldest first (SPEC 4.4)",
                    "parameters": [
                      {
                        "name": "event",
                        "in": "path",
                        "required": true,
                        "description": "The name, percent-encoded; names with `/` work.",
                        "schema": {
                          "$ref": "#/components/schemas/EventName"
                        }
                      },
                      {
                        "name": "since",
                        "in": "query",
                        "required": false,
                        "description": "Timestamps at or after this (ms).",
                        "schema": {
                          "type": "integer",
                          "minimum": 0,
                          "maximum": 9223372036854775807
                        }
                      },
                      {
                        "name": "until",
                        "in": "query",
                        "required": false,
                        "description": "Timestamps at or before this (ms).",
                        "schema": {
                          "type": "integer",
                          "minimum": 0,
                          "maximum": 9223372036854775807
                        }
                      },
                      {
                        "name": "after",
                        "in": "query",
                        "required": false,
                        "description": "Only seqs above this: the paging cursor.",
                        "schema": {
                          "type": "integer",
                          "minimum": 0,
                          "maximum": 18446744073709551615
                        }
                      },
                      {
                        "name": "limit",
                        "in": "query",
                        "required": false,
                        "description": "At most this many records.",
                        "schema": {
                          "type": "integer",
                          "minimum": 0,
                          "maximum": 9223372036854775807
                        }
                      }
                    ],
                    "responses": {
                      "200": {
                        "description": "Records, oldest first.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "type": "array",
                              "items": {
                                "$ref": "#/components/schemas/Record"
                              }
                            }
                          }
                        }
                      },
                      "400": {
                        "description": "A query parameter that is not a non-negative integer, or a name that is not valid percent-encoded UTF-8.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "401": {
                        "description": "Access control is on and the request has no valid token (SPEC 4.11); `WWW-Authenticate: Bearer` says why.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "403": {
                        "description": "A valid token whose scope does not cover the request; the error names the refused event.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "404": {
                        "description": "The name was never inserted.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "503": {
                        "description": "Reading the log failed.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      }
                    }
                  }
                },
                "/state": {
                  "get": {
                    "operationId": "state",
                    "summary": "The latest record of every name, now or at an earlier instant (SPEC 4.13)",
                    "parameters": [
                      {
                        "name": "instant",
                        "in": "query",
                        "required": false,
                        "style": "form",
                        "explode": true,
                        "description": "At most one of `seq` (as of this seq; above the last, the last) and `at` (as of the last seq stamped at or before this time, in ms since the epoch); neither: now. Both together are a 400.",
                        "schema": {
                          "type": "object",
                          "not": {
                            "required": [
                              "seq",
                              "at"
                            ]
                          },
                          "properties": {
                            "seq": {
                              "type": "integer",
                              "minimum": 0,
                              "maximum": 18446744073709551615
                            },
                            "at": {
                              "type": "integer",
                              "minimum": 0,
                              "maximum": 9223372036854775807
                            }
                          }
                        }
                      },
                      {
                        "name": "event",
                        "in": "query",
                        "required": false,
                        "description": "Only these names (repeatable).",
                        "schema": {
                          "type": "array",
                          "items": {
                            "$ref": "#/components/schemas/EventName"
                          }
                        },
                        "style": "form",
                        "explode": true
                      },
                      {
                        "name": "prefix",
                        "in": "query",
                        "required": false,
                        "description": "Only names starting with one of these (repeatable).",
                        "schema": {
                          "type": "array",
                          "items": {
                            "$ref": "#/components/schemas/EventName"
                          }
                        },
                        "style": "form",
                        "explode": true
                      }
                    ],
                    "responses": {
                      "200": {
                        "description": "The records, in seq order.",
                        "headers": {
                          "X-Broker-Seq": {
                            "required": true,
                            "description": "The seq the answer reflects.",
                            "schema": {
                              "type": "string",
                              "pattern": "^[0-9]+$"
                            }
                          }
                        },
                        "content": {
                          "application/json": {
                            "schema": {
                              "type": "array",
                              "items": {
                                "$ref": "#/components/schemas/Record"
                              }
                            }
                          }
                        }
                      },
                      "400": {
                        "description": "`seq` and `at` together, either not a non-negative integer, or an invalid filter.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "401": {
                        "description": "Access control is on and the request has no valid token (SPEC 4.11); `WWW-Authenticate: Bearer` says why.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "403": {
                        "description": "A valid token whose scope does not cover the request; the error names the refused event.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "503": {
                        "description": "Reading the log failed.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      }
                    }
                  }
                },
                "/healthz": {
                  "get": {
                    "operationId": "health",
                    "summary": "Whether the log accepts appends (SPEC 4.5)",
                    "security": [
                      {}
                    ],
                    "responses": {
                      "200": {
                        "description": "The log accepts appends.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Health"
                            }
                          }
                        }
                      },
                      "503": {
                        "description": "The log refuses appends (a failed fsync, or damage); reads are still served. A JetStream front that is still starting answers 503 with status starting and what it waits for (SPEC 7.3).",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Health"
                            }
                          }
                        }
                      }
                    }
                  }
                },
                "/metrics": {
                  "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics (SPEC 4.6); with access control on, for admin tokens",
                    "responses": {
                      "200": {
                        "description": "Prometheus text format.",
                        "content": {
                          "text/plain": {
                            "schema": {
                              "type": "string"
                            }
                          }
                        }
                      },
                      "401": {
                        "description": "Access control is on and the request has no valid token (SPEC 4.11); `WWW-Authenticate: Bearer` says why.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      },
                      "403": {
                        "description": "A valid token whose scope does not cover the request; the error names the refused event.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      }
                    }
                  }
                },
                "/": {
                  "get": {
                    "operationId": "console",
                    "summary": "The web console (SPEC 4.8), unless the server runs with --no-console",
                    "security": [
                      {}
                    ],
                    "responses": {
                      "200": {
                        "description": "The console page.",
                        "content": {
                          "text/html": {
                            "schema": {
                              "type": "string"
                            }
                          }
                        }
                      },
                      "404": {
                        "description": "The server runs with --no-console.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      }
                    }
                  }
                },
                "/broker.js": {
                  "get": {
                    "operationId": "client",
                    "summary": "broker.js, the client for web pages, as an ES module (SPEC 4.15)",
                    "security": [
                      {}
                    ],
                    "responses": {
                      "200": {
                        "description": "The module.",
                        "content": {
                          "text/javascript": {
                            "schema": {
                              "type": "string"
                            }
                          }
                        }
                      }
                    }
                  }
                },
                "/broker.d.ts": {
                  "get": {
                    "operationId": "clientDeclarations",
                    "summary": "TypeScript declarations of broker.js",
                    "security": [
                      {}
                    ],
                    "responses": {
                      "200": {
                        "description": "The declarations.",
                        "content": {
                          "application/typescript": {
                            "schema": {
                              "type": "string"
                            }
                          }
                        }
                      }
                    }
                  }
                },
                "/static/{path}": {
                  "get": {
                    "operationId": "staticFile",
                    "summary": "A file of the --static directory (SPEC 4.16); only when the server runs with --static",
                    "security": [
                      {}
                    ],
                    "parameters": [
                      {
                        "name": "path",
                        "in": "path",
                        "required": true,
                        "description": "The file's path inside the directory; a directory gives its index.html.",
                "example": "index.html",
                        "schema": {
                          "type": "string"
                        }
                      }
                    ],
                    "responses": {
                      "200": {
                        "description": "The file, with the Content-Type of its extension."
                      },
                      "404": {
                        "description": "No such file, or no --static directory.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "$ref": "#/components/schemas/Error"
                            }
                          }
                        }
                      }
                    }
                  }
                },
                "/openapi.json": {
                  "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [
                      {}
                    ],
                    "responses": {
                      "200": {
                        "description": "The OpenAPI 3.1 document.",
                        "content": {
                          "application/json": {
                            "schema": {
                              "type": "object"
                            }
                          }
                        }
                      }
                    }
                  }
                }
              },
              "components": {
                "securitySchemes": {
                  "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A token from `broker token` or your issuer (SPEC 4.11)."
                  },
                  "cookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "broker_token",
                    "description": "The same token in a cookie, for EventSource in browsers (`--jwt-cookie` names it)."
                  }
                },
                "schemas": {
                  "Error": {
                    "type": "object",
                    "required": [
                      "error"
                    ],
                    "properties": {
                      "error": {
                        "type": "string"
                      }
                    }
                  },
                  "EventName": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 256,
                    "pattern": "^[^\\u0000-\\u001F\\u007F]+$",
                    "description": "1 to 256 bytes of UTF-8 with no control character."
                  },
                  "InsertEntry": {
                    "type": "object",
                    "required": [
                      "event",
                      "data"
                    ],
                    "properties": {
                      "event": {
                        "$ref": "#/components/schemas/EventName"
                      },
                      "data": {
                        "description": "Any JSON value, nested at most 512 deep; stored byte for byte as written (compacted)."
                      },
                      "expectedSeq": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 9223372036854775807,
                        "description": "Store only if the latest record of `event` has this seq (0: the name has none). Any JSON form of a whole number: 12, 12.0, 1.2e1."
                      }
                    }
                  },
                  "Record": {
                    "type": "object",
                    "required": [
                      "seq",
                      "event",
                      "timestamp",
                      "data"
                    ],
                    "properties": {
                      "seq": {
                        "type": "integer",
                        "minimum": 1
                      },
                      "event": {
                        "type": "string"
                      },
                      "timestamp": {
                        "type": "integer",
                        "description": "Milliseconds since the Unix epoch."
                      },
                      "data": {}
                    }
                  },
                  "BatchSummary": {
                    "type": "object",
                    "required": [
                      "firstSeq",
                      "lastSeq",
                      "count",
                      "timestamp"
                    ],
                    "properties": {
                      "firstSeq": {
                        "type": "integer"
                      },
                      "lastSeq": {
                        "type": "integer"
                      },
                      "count": {
                        "type": "integer"
                      },
                      "timestamp": {
                        "type": "integer"
                      }
                    }
                  },
                  "Conflict": {
                    "type": "object",
                    "required": [
                      "error",
                      "event",
                      "expectedSeq",
                      "currentSeq"
                    ],
                    "properties": {
                      "error": {
                        "type": "string"
                      },
                      "event": {
                        "type": "string"
                      },
                      "expectedSeq": {
                        "type": "integer"
                      },
                      "currentSeq": {
                        "type": "integer"
                      }
                    }
                  },
                  "BatchConflict": {
                    "type": "object",
                    "required": [
                      "error",
                      "conflicts"
                    ],
                    "properties": {
                      "error": {
                        "type": "string"
                      },
                      "conflicts": {
                        "type": "array",
                        "items": {
                          "type": "object",
                          "required": [
                            "index",
                            "event",
                            "expectedSeq",
                            "currentSeq"
                          ],
                          "properties": {
                            "index": {
                              "type": "integer"
                            },
                            "event": {
                              "type": "string"
                            },
                            "expectedSeq": {
                              "type": "integer"
                            },
                            "currentSeq": {
                              "type": "integer"
                            }
                          }
                        }
                      }
                    }
                  },
                  "Health": {
                    "type": "object",
                    "required": [
                      "status",
                      "lastSeq"
                    ],
                    "properties": {
                      "status": {
                        "type": "string",
                        "enum": [
                          "ok",
                          "failed",
                          "starting"
                        ]
                      },
                      "lastSeq": {
                        "type": "integer"
                      },
                      "error": {
                        "type": "string"
                      },
                      "nats": {
                        "description": "A JetStream front only (SPEC 7.5): its NATS connection and stream.",
                        "type": "object",
                        "required": [
                          "connected",
                          "stream",
                          "replicas",
                          "currentReplicas",
                          "indexedSeq"
                        ],
                        "properties": {
                          "connected": {
                            "type": "boolean"
                          },
                          "server": {
                            "type": [
                              "string",
                              "null"
                            ]
                          },
                          "stream": {
                            "type": "string"
                          },
                          "streamLeader": {
                            "type": [
                              "string",
                              "null"
                            ]
                          },
                          "replicas": {
                            "type": "integer"
                          },
                          "currentReplicas": {
                            "type": "integer"
                          },
                          "indexedSeq": {
                            "type": "integer"
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
        """#
}
