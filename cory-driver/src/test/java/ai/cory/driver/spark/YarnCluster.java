package ai.cory.driver.spark;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;

/**
 * A real YARN on this machine: a {@code MiniYARNCluster} (ResourceManager with the Capacity
 * Scheduler and one NodeManager whose containers are separate JVMs) over a {@code MiniDFSCluster},
 * the default file system. Applications go in as operators submit them, through
 * {@code deploy/spark-submit.sh --master yarn} with {@code HADOOP_CONF_DIR} naming the cluster's
 * written configuration and {@code SPARK_SUBMIT} this project's {@code SparkSubmit} on the test
 * classpath (a Spark distribution's {@code spark-submit} in production). Containers get the test
 * classpath through {@code spark.{driver,executor}.extraClassPath}, as Spark's own YARN suites do.
 */
final class YarnCluster implements AutoCloseable {
  private final Path dir;
  private final Path confDir;
  private final Path sparkHome;
  private final MiniDFSCluster dfs;
  private final MiniYARNCluster yarn;
  private final String classpath;

  private YarnCluster(Path dir, Path confDir, Path sparkHome, MiniDFSCluster dfs, MiniYARNCluster yarn,
      String classpath) {
    this.dir = dir;
    this.confDir = confDir;
    this.sparkHome = sparkHome;
    this.dfs = dfs;
    this.yarn = yarn;
    this.classpath = classpath;
  }

  /** Starts HDFS (one DataNode) and YARN (one NodeManager of {@code memoryMb} MB). */
  static YarnCluster start(Path dir, int memoryMb) throws Exception {
    Files.createDirectories(dir);
    Configuration conf = new YarnConfiguration();
    conf.set("hadoop.tmp.dir", dir.resolve("hadoop-tmp").toString());
    MiniDFSCluster dfs = new MiniDFSCluster.Builder(conf, dir.resolve("dfs").toFile()).numDataNodes(1).build();
    MiniYARNCluster yarn = null;
    try {
      dfs.waitActive();
      conf.set("fs.defaultFS", dfs.getURI().toString());
      conf.setInt(YarnConfiguration.NM_PMEM_MB, memoryMb);
      conf.setInt(YarnConfiguration.NM_VCORES, 8); // the default resource calculator counts memory only
      conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 128);
      conf.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, false);
      conf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
      conf.set("yarn.scheduler.capacity.maximum-am-resource-percent", "1.0");
      conf.set("yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage", "100.0");
      yarn = new MiniYARNCluster("cory-yarn", 1, 1, 1);
      yarn.init(conf);
      yarn.start();
      Configuration live = yarn.getConfig();
      long deadline = System.currentTimeMillis() + TimeUnit.SECONDS.toMillis(60);
      while (live.get(YarnConfiguration.RM_ADDRESS, "").endsWith(":0")) { // the RM's port is picked at start
        if (System.currentTimeMillis() > deadline) {
          throw new IllegalStateException("the ResourceManager did not publish its address");
        }
        Thread.sleep(100);
        live = yarn.getConfig();
      }
      Path confDir = Files.createDirectories(dir.resolve("hadoop-conf"));
      try (OutputStream out = Files.newOutputStream(confDir.resolve("yarn-site.xml"))) {
        live.writeXml(out);
      }
      Configuration core = new Configuration(false);
      core.set("fs.defaultFS", dfs.getURI().toString());
      try (OutputStream out = Files.newOutputStream(confDir.resolve("core-site.xml"))) {
        core.writeXml(out);
      }
      // Spark's YARN client ships SPARK_HOME/jars as the containers' Spark: here one placeholder jar,
      // the classes come from extraClassPath
      Path sparkHome = dir.resolve("spark-home");
      StandaloneCluster.emptyJar(Files.createDirectories(sparkHome.resolve("jars")).resolve("placeholder.jar"));
      return new YarnCluster(dir, confDir, sparkHome, dfs, yarn, StandaloneCluster.testClasspath());
    } catch (Exception e) {
      if (yarn != null) {
        yarn.stop();
      }
      dfs.shutdown();
      throw e;
    }
  }

  /** {@code hdfs://127.0.0.1:PORT}. */
  String hdfs() {
    return dfs.getURI().toString();
  }

  /** A client of the cluster's HDFS. */
  FileSystem fileSystem() throws IOException {
    return dfs.getFileSystem();
  }

  /** The Spark properties every application here needs: the classpath and environment of containers. */
  List<String> containerConf() {
    String javaHome = System.getProperty("java.home");
    List<String> conf = new ArrayList<>();
    for (String kv : List.of("spark.driver.extraClassPath=" + classpath, "spark.executor.extraClassPath=" + classpath,
        "spark.yarn.am.memory=512m", "spark.yarn.appMasterEnv.JAVA_HOME=" + javaHome,
        "spark.executorEnv.JAVA_HOME=" + javaHome, "spark.yarn.appMasterEnv.SPARK_LOCAL_IP=127.0.0.1",
        "spark.executorEnv.SPARK_LOCAL_IP=127.0.0.1", "spark.driver.host=127.0.0.1", "spark.ui.enabled=false",
        "spark.yarn.maxAppAttempts=1")) {
      conf.add("--conf");
      conf.add(kv);
    }
    return conf;
  }

  /**
   * Runs {@code script --master yarn ARGS} and waits; its output goes to {@code <dir>/<name>.log}.
   *
   * @return the exit code
   */
  int submit(String name, Path script, List<String> scriptArgs, long timeoutMs) throws Exception {
    List<String> submit = new ArrayList<>();
    submit.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    submit.add("-Xmx512m");
    submit.addAll(StandaloneCluster.jvmFlags());
    // spark-submit puts HADOOP_CONF_DIR on the classpath; SparkSubmit run directly needs it spelled out
    submit.addAll(List.of("-cp", confDir + File.pathSeparator + classpath, "org.apache.spark.deploy.SparkSubmit"));
    List<String> cmd = new ArrayList<>(List.of("bash", script.toString(), "--master", "yarn"));
    cmd.addAll(scriptArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".log").toFile());
    Map<String, String> env = pb.environment();
    env.put("SPARK_SUBMIT", String.join(" ", submit));
    env.put("CORY_JAR", StandaloneCluster.emptyJar(dir.resolve("app.jar")).toString());
    env.put("HADOOP_CONF_DIR", confDir.toString());
    env.put("YARN_CONF_DIR", confDir.toString());
    env.put("SPARK_HOME", sparkHome.toString());
    env.put("SPARK_SCALA_VERSION", StandaloneCluster.scalaBinaryVersion());
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    env.put("JAVA_HOME", System.getProperty("java.home"));
    Process p = pb.start();
    if (!p.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new IllegalStateException(name + " did not finish within " + timeoutMs + " ms: " + log(name));
    }
    return p.exitValue();
  }

  /** The output of one submission. */
  String log(String name) throws IOException {
    Path file = dir.resolve(name + ".log");
    return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
  }

  /** Every application the ResourceManager knows, oldest first. */
  List<ApplicationReport> applications() throws Exception {
    try (YarnClient client = YarnClient.createYarnClient()) {
      client.init(yarn.getConfig());
      client.start();
      List<ApplicationReport> apps = new ArrayList<>(client.getApplications());
      apps.sort((a, b) -> Long.compare(a.getStartTime(), b.getStartTime()));
      return apps;
    }
  }

  /** The text of every container log file named {@code name} (stdout, stderr) of one application. */
  String containerLogs(String applicationId, String name) throws IOException {
    StringBuilder all = new StringBuilder();
    for (Path logs : List.of(dir, yarn.getTestWorkDir().toPath())) { // MiniYARNCluster picks its own log dirs
      if (!Files.isDirectory(logs)) {
        continue;
      }
      try (Stream<Path> files = Files.walk(logs)) {
        for (Path f : files.filter(f -> f.getFileName().toString().equals(name)
            && f.toString().contains(applicationId)).sorted().toList()) {
          all.append("==> ").append(f).append('\n').append(Files.readString(f, StandardCharsets.UTF_8));
        }
      }
    }
    return all.toString();
  }

  @Override
  public void close() {
    try {
      yarn.stop();
    } finally {
      dfs.shutdown();
    }
  }
}
