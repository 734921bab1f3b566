package ai.cory.driver.spark;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * A real Spark standalone cluster on loopback, started from the project's own Maven
 * dependencies: a {@code org.apache.spark.deploy.master.Master} and {@code workers}
 * {@code org.apache.spark.deploy.worker.Worker}s, each a child JVM with this test's classpath
 * and JVM flags. Executors are JVMs the workers launch, so collectives between them cross
 * processes (Aeron over UDP). Jobs go in through {@code org.apache.spark.deploy.SparkSubmit}
 * in another child JVM (client mode: the driver runs there).
 *
 * <p>The workers need a Spark home only for the jars directory they put on executors'
 * classpaths; an empty one is made, and the executors get the full classpath through
 * {@code spark.executor.extraClassPath}. Every process logs to a file in {@code dir}.
 */
final class StandaloneCluster implements AutoCloseable {
  private static final long START_TIMEOUT_MS = TimeUnit.SECONDS.toMillis(60);

  private final Path dir;
  private final String classpath;
  private final List<String> jvmFlags;
  private final List<Process> processes = new ArrayList<>();
  private final int masterPort;

  private StandaloneCluster(Path dir, String classpath, List<String> jvmFlags, int masterPort) {
    this.dir = dir;
    this.classpath = classpath;
    this.jvmFlags = jvmFlags;
    this.masterPort = masterPort;
  }

  /**
   * Starts a master and {@code workers} workers of {@code coresPerWorker} cores and
   * {@code memoryMb} MB each, and waits until the master accepts connections.
   */
  static StandaloneCluster start(Path dir, int workers, int coresPerWorker, int memoryMb) throws Exception {
    Files.createDirectories(dir);
    Path sparkHome = dir.resolve("spark-home");
    Files.createDirectories(sparkHome.resolve("jars")); // executors' jars come from extraClassPath
    StandaloneCluster cluster = new StandaloneCluster(dir, testClasspath(), jvmFlags(), freePort());
    try {
      cluster.launch("master", List.of("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
          Integer.toString(cluster.masterPort), "--webui-port", Integer.toString(freePort())), sparkHome);
      cluster.awaitPort(cluster.masterPort);
      for (int w = 0; w < workers; w++) {
        Path work = dir.resolve("worker-" + w);
        Files.createDirectories(work);
        cluster.launch("worker-" + w, List.of("org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
            "--cores", Integer.toString(coresPerWorker), "--memory", memoryMb + "m", "--webui-port",
            Integer.toString(freePort()), "--work-dir", work.toString(), cluster.masterUrl()), sparkHome);
      }
      return cluster;
    } catch (Exception e) {
      cluster.close();
      throw e;
    }
  }

  /** {@code spark://127.0.0.1:PORT}. */
  String masterUrl() {
    return "spark://127.0.0.1:" + masterPort;
  }

  /**
   * The Spark properties of an application on this cluster: one single-core executor per worker
   * ({@code workers} of them), on the cluster's classpath, loopback only, no UI.
   */
  Map<String, String> applicationConf(int workers) {
    Map<String, String> conf = new java.util.LinkedHashMap<>();
    conf.put("spark.executor.extraClassPath", classpath);
    conf.put("spark.executor.cores", "1");
    conf.put("spark.executor.memory", "640m");
    conf.put("spark.cores.max", Integer.toString(workers));
    conf.put("spark.driver.host", "127.0.0.1");
    conf.put("spark.driver.bindAddress", "127.0.0.1");
    conf.put("spark.ui.enabled", "false");
    return conf;
  }

  /** The classpath every process of the cluster runs with (executors get it too). */
  String classpath() {
    return classpath;
  }

  /**
   * Runs {@code SparkSubmit} in client mode against this cluster and waits for it.
   *
   * @param sparkConf {@code --conf} pairs
   * @param mainClass the application's main class (on the classpath)
   * @param appArgs   the application's arguments
   * @return the exit code; the output is in {@code <dir>/submit.log}
   */
  int submit(Map<String, String> sparkConf, String mainClass, List<String> appArgs, long timeoutMs) throws Exception {
    return await(submitAsync("submit", sparkConf, mainClass, appArgs), "submit", timeoutMs);
  }

  /**
   * Starts {@code SparkSubmit} in client mode against this cluster without waiting; its output
   * goes to {@code <dir>/<name>.log}.
   */
  Process submitAsync(String name, Map<String, String> sparkConf, String mainClass, List<String> appArgs)
      throws IOException {
    Path appJar = emptyJar(dir.resolve("app.jar")); // SparkSubmit needs a primary resource; classes are on the classpath
    List<String> args = new ArrayList<>(List.of("org.apache.spark.deploy.SparkSubmit", "--master", masterUrl(),
        "--deploy-mode", "client", "--class", mainClass));
    for (Map.Entry<String, String> e : sparkConf.entrySet()) {
      args.add("--conf");
      args.add(e.getKey() + "=" + e.getValue());
    }
    args.add(appJar.toString());
    args.addAll(appArgs);
    return launch(name, args, null);
  }

  /**
   * Starts the operators' wrapper {@code deploy/spark-submit.sh} against this cluster without
   * waiting, as documented: {@code SPARK_SUBMIT} is this project's own {@code SparkSubmit} entry
   * point on the cluster's classpath (a Spark distribution's {@code spark-submit} in
   * production), {@code CORY_JAR} an empty primary resource (the classes are on the classpath).
   * Output goes to {@code <dir>/<name>.log}.
   *
   * @param script     the wrapper
   * @param scriptArgs its arguments ({@code --master} is added)
   */
  Process submitScript(String name, Path script, List<String> scriptArgs) throws IOException {
    Path appJar = emptyJar(dir.resolve("app.jar"));
    List<String> submit = new ArrayList<>();
    submit.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    submit.add("-Xmx768m");
    submit.addAll(jvmFlags);
    submit.addAll(List.of("-cp", classpath, "org.apache.spark.deploy.SparkSubmit"));
    for (String word : submit) {
      if (word.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalStateException("SPARK_SUBMIT is split on whitespace; cannot pass '" + word + "'");
      }
    }
    List<String> cmd = new ArrayList<>(List.of("bash", script.toString(), "--master", masterUrl()));
    cmd.addAll(scriptArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".log").toFile());
    Map<String, String> env = pb.environment();
    env.put("SPARK_SUBMIT", String.join(" ", submit));
    env.put("CORY_JAR", appJar.toString());
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    env.put("SPARK_LOCAL_DIRS", dir.resolve("local").toString());
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  /** Waits for a submitted application and returns its exit code. */
  int await(Process submit, String name, long timeoutMs) throws Exception {
    if (!submit.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
      submit.descendants().forEach(ProcessHandle::destroyForcibly);
      submit.destroyForcibly();
      throw new IllegalStateException("spark-submit did not finish within " + timeoutMs + " ms; see "
          + dir.resolve(name + ".log"));
    }
    return submit.exitValue();
  }

  /**
   * Kills (SIGKILL) the executor JVMs that worker {@code w} launched, as a machine failure
   * would: no shutdown hooks, no goodbye to the driver.
   *
   * @return how many processes were killed
   */
  int killExecutorsOf(int w) {
    Process worker = processes.get(1 + w); // 0 is the master
    List<ProcessHandle> executors = worker.descendants().toList();
    executors.forEach(ProcessHandle::destroyForcibly);
    return executors.size();
  }

  /** The log of one process ({@code master}, {@code worker-0}, {@code submit}). */
  String log(String name) throws IOException {
    Path file = dir.resolve(name + ".log");
    return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
  }

  private Process launch(String name, List<String> mainAndArgs, Path sparkHome) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx768m");
    cmd.addAll(jvmFlags);
    cmd.add("-cp");
    cmd.add(classpath);
    cmd.addAll(mainAndArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".log").toFile());
    Map<String, String> env = pb.environment();
    if (sparkHome != null) {
      env.put("SPARK_HOME", sparkHome.toString());
      env.put("SPARK_SCALA_VERSION", scalaBinaryVersion());
    }
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    env.put("SPARK_LOCAL_DIRS", dir.resolve("local").toString());
    env.put("OMP_NUM_THREADS", "1");
    env.put("OMP_WAIT_POLICY", "PASSIVE");
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  private void awaitPort(int port) throws Exception {
    long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
    while (System.currentTimeMillis() < deadline) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException notYet) {
        if (!processes.get(0).isAlive()) {
          throw new IllegalStateException("the Spark master exited: " + log("master"));
        }
        Thread.sleep(200);
      }
    }
    throw new IllegalStateException("the Spark master did not open port " + port + " within " + START_TIMEOUT_MS
        + " ms: " + log("master"));
  }

  /** Stops every process, newest first. */
  @Override
  public void close() {
    for (int i = processes.size() - 1; i >= 0; i--) {
      Process p = processes.get(i);
      p.descendants().forEach(ProcessHandle::destroy);
      p.destroy();
    }
    for (Process p : processes) {
      try {
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.descendants().forEach(ProcessHandle::destroyForcibly);
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
    }
  }

  /** The Scala binary version Spark was built with, e.g. {@code 2.12}. */
  static String scalaBinaryVersion() {
    return scala.util.Properties.versionNumberString().replaceAll("^(\\d+\\.\\d+).*", "$1");
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** This JVM's module and add-opens flags (surefire's argLine), for the child JVMs. */
  static List<String> jvmFlags() {
    List<String> flags = new ArrayList<>();
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-") || a.startsWith("-XX:+IgnoreUnrecognized") || a.startsWith("-Djdk.reflect")
          || a.startsWith("-Dlog4j2.configurationFile")) {
        flags.add(a);
      }
    }
    return flags;
  }

  /**
   * The test classpath with every entry spelled out: surefire may put a manifest-only jar on
   * {@code java.class.path}, whose {@code Class-Path} holds the real entries.
   */
  static String testClasspath() throws IOException {
    Set<String> entries = new LinkedHashSet<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (e.isEmpty()) {
        continue;
      }
      File f = new File(e);
      if (f.isFile() && f.getName().endsWith(".jar") && f.getName().startsWith("surefire")) {
        try (JarFile jar = new JarFile(f)) {
          String cp = jar.getManifest() == null ? null
              : jar.getManifest().getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
          if (cp != null) {
            for (String url : cp.trim().split("\\s+")) {
              entries.add(Path.of(java.net.URI.create(url)).toString());
            }
            continue;
          }
        }
      }
      entries.add(f.getAbsolutePath());
    }
    return String.join(File.pathSeparator, entries);
  }

  static Path emptyJar(Path file) throws IOException {
    Manifest m = new Manifest();
    m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    try (OutputStream out = Files.newOutputStream(file); JarOutputStream jar = new JarOutputStream(out, m)) {
      jar.flush();
    }
    return file;
  }
}
