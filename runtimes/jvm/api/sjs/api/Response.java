package sjs.api;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A partition server's answer: status, headers and body. Start from a factory, adjust with the
 * setters (they return this): {@code Response.json(hits).status(201).header("X-Partition", "3")}.
 * The runner always sends Content-Length, so connections stay open between requests.
 */
public final class Response {
  private int status = 200;
  private final Map<String, String> headers = new LinkedHashMap<String, String>();
  private final byte[] body;
  private final Object json;
  private final boolean isJson;

  private Response(byte[] body, Object json, boolean isJson, String contentType) {
    this.body = body;
    this.json = json;
    this.isJson = isJson;
    headers.put("Content-Type", contentType);
  }

  /** 200, text/plain in UTF-8. */
  public static Response text(String text) {
    return new Response(String.valueOf(text).getBytes(StandardCharsets.UTF_8), null, false, "text/plain; charset=utf-8");
  }

  /**
   * 200, application/json: {@code value} converted as a job's result is (maps, lists, arrays,
   * numbers, strings, beans, ...).
   */
  public static Response json(Object value) {
    return new Response(null, value, true, "application/json");
  }

  /** 200 with these bytes and Content-Type. */
  public static Response bytes(byte[] body, String contentType) {
    return new Response(body != null ? body : new byte[0], null, false, contentType);
  }

  /** Sets the status code (default 200). */
  public Response status(int status) {
    if (status < 100 || status > 999) throw new IllegalArgumentException("not an HTTP status: " + status);
    this.status = status;
    return this;
  }

  /** Sets a header, replacing one of the same name (Content-Length is the runner's). */
  public Response header(String name, String value) {
    headers.put(name, value);
    return this;
  }

  public int status() {
    return status;
  }

  public Map<String, String> headers() {
    return Collections.unmodifiableMap(headers);
  }

  /** The body bytes; null for a {@link #json} response, which the runner encodes. */
  public byte[] body() {
    return body;
  }

  /** True for a {@link #json} response. */
  public boolean isJson() {
    return isJson;
  }

  /** The value of a {@link #json} response. */
  public Object jsonValue() {
    return json;
  }
}
