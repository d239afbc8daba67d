package sjs.runner;

import java.io.File;
import java.io.PrintStream;
import java.io.UnsupportedEncodingException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Lists a step library's steps for {@code sjs binary steps}. sjsd runs it as a one-shot process,
 * never in a resident worker:
 *
 * <pre>java -cp sjs-runner.jar sjs.runner.StepList JAR BINARY_NAME</pre>
 *
 * It prints one JSON line on stdout, {@code {"ok":true,"steps":[{"name","function","module","params",
 * "doc"}]}} sorted by name (params: the step's arguments, "Type name"), or
 * {@code {"ok":false,"message":"..."}} for a library without steps or a jar it cannot read, and
 * exits 0 either way (2 for a usage error, 1 if the tool itself failed). The classes are loaded
 * without initialisation (no static initialiser runs), by the runner's own discovery code.
 */
public final class StepList {
  private StepList() {}

  public static void main(String[] args) {
    if (args.length != 2) {
      System.err.println("usage: java -cp sjs-runner.jar sjs.runner.StepList JAR BINARY_NAME");
      System.exit(2);
      return;
    }
    Map<String, Object> answer;
    try {
      answer = list(new File(args[0]), args[1]);
    } catch (Throwable t) {
      System.err.println("sjs.runner.StepList: " + t);
      t.printStackTrace();
      System.exit(1);
      return;
    }
    try {
      PrintStream out = new PrintStream(System.out, true, "UTF-8");
      out.println(Json.write(answer));
      out.flush();
    } catch (UnsupportedEncodingException e) {
      throw new AssertionError(e);
    }
    System.exit(0); // a class of the library may have started a thread after all
  }

  static Map<String, Object> list(File jar, String binaryName) {
    Map<String, Object> answer = new LinkedHashMap<String, Object>();
    StepLibrary lib;
    try {
      if (!jar.exists()) throw new java.io.FileNotFoundException(jar + " does not exist");
      URLClassLoader loader = new URLClassLoader(new URL[] {jar.toURI().toURL()}, StepList.class.getClassLoader());
      lib = StepLibrary.scan(jar, loader);
    } catch (Exception e) {
      answer.put("ok", false);
      answer.put("message", "binary \"" + binaryName + "\" cannot be read: " + Failures.message(e));
      return answer;
    }
    List<Object> steps = new ArrayList<Object>();
    List<String> defects = new ArrayList<String>();
    for (StepLibrary.Def d : lib.all) {
      if (d.defect != null) {
        defects.add(d.qualified() + ": " + d.defect);
        continue;
      }
      Map<String, Object> s = new LinkedHashMap<String, Object>();
      s.put("name", d.name);
      s.put("function", d.function);
      s.put("module", d.module);
      s.put("params", d.params);
      s.put("doc", d.doc);
      steps.add(s);
    }
    for (String s : lib.skipped) System.err.println("sjs.runner.StepList: skipped " + s);
    if (steps.isEmpty()) {
      answer.put("ok", false);
      String message = StepLibrary.noSteps(binaryName);
      if (!defects.isEmpty()) message += " (" + Pipeline.join(defects, "; ") + ")";
      answer.put("message", message);
      return answer;
    }
    answer.put("ok", true);
    answer.put("steps", steps);
    return answer;
  }
}
