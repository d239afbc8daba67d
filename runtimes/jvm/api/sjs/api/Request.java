package sjs.api;

import java.io.UnsupportedEncodingException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One HTTP request to a partition server's application, as {@link PartitionServer#handle} sees
 * it: the path below {@code /app} (as a WSGI application's PATH_INFO), the raw query string,
 * the headers (names case-insensitive) and the body. Made by the runner; immutable.
 */
public final class Request {
  private final String method;
  private final String path;
  private final String query;
  private final Map<String, List<String>> headers;
  private final byte[] body;
  private final String cluster;
  private final int partition;
  private Map<String, List<String>> params; // parsed from query on first use

  public Request(String method, String path, String query, Map<String, List<String>> headers, byte[] body,
      String cluster, int partition) {
    this.method = method;
    this.path = path == null || path.isEmpty() ? "/" : path;
    this.query = query != null ? query : "";
    Map<String, List<String>> h = new TreeMap<String, List<String>>(String.CASE_INSENSITIVE_ORDER);
    if (headers != null) {
      for (Map.Entry<String, List<String>> e : headers.entrySet()) {
        h.put(e.getKey(), Collections.unmodifiableList(new ArrayList<String>(e.getValue())));
      }
    }
    this.headers = Collections.unmodifiableMap(h);
    this.body = body != null ? body : new byte[0];
    this.cluster = cluster;
    this.partition = partition;
  }

  /** "GET", "POST", ... */
  public String method() {
    return method;
  }

  /** The path below /app, starting with "/": "/get_list" for /app/get_list, "/" for /app. Decoded. */
  public String path() {
    return path;
  }

  /** The raw query string, without "?"; "" when there is none. */
  public String query() {
    return query;
  }

  /** The first value of query parameter {@code name} (URL-decoded), or null. */
  public String param(String name) {
    List<String> v = params().get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  /** Every query parameter, decoded, in order; a name without "=" has the value "". */
  public synchronized Map<String, List<String>> params() {
    if (params == null) {
      Map<String, List<String>> p = new LinkedHashMap<String, List<String>>();
      for (String pair : query.split("&")) {
        if (pair.isEmpty()) continue;
        int eq = pair.indexOf('=');
        String k = decode(eq < 0 ? pair : pair.substring(0, eq));
        String v = eq < 0 ? "" : decode(pair.substring(eq + 1));
        List<String> vs = p.get(k);
        if (vs == null) p.put(k, vs = new ArrayList<String>());
        vs.add(v);
      }
      params = Collections.unmodifiableMap(p);
    }
    return params;
  }

  /** The first value of header {@code name} (any case), or null. */
  public String header(String name) {
    List<String> v = headers.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  /** Every header; the map's keys are case-insensitive. */
  public Map<String, List<String>> headers() {
    return headers;
  }

  /** The body, possibly empty; do not modify it. */
  public byte[] body() {
    return body;
  }

  /** The body as UTF-8 text. */
  public String bodyText() {
    return new String(body, StandardCharsets.UTF_8);
  }

  /** The cluster's name. */
  public String cluster() {
    return cluster;
  }

  /** The index of the partition this server serves. */
  public int partition() {
    return partition;
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s, "UTF-8");
    } catch (UnsupportedEncodingException | IllegalArgumentException e) {
      return s; // a malformed %-escape: the raw text
    }
  }
}
