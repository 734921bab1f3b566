package ai.cory.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy/spark-submit.sh}'s translation of its options into spark-submit's, per cluster
 * manager, with {@code SPARK_SUBMIT} a script that prints its arguments (the real submissions are
 * {@link StandaloneClusterTest} and {@link YarnClusterTest}), and its refusals of bad options.
 */
final class SparkSubmitWrapperTest {
  private static final Path SCRIPT = Path.of("..", "deploy", "spark-submit.sh").toAbsolutePath().normalize();
  private static final Path HERE = SCRIPT.getParent().getParent();

  @TempDir
  Path tmp;

  private record Result(int exit, List<String> args, String output) {
    /** The value of {@code --conf KEY=...}, or null. */
    String conf(String key) {
      for (int i = 0; i + 1 < args.size(); i++) {
        if (args.get(i).equals("--conf") && args.get(i + 1).startsWith(key + "=")) {
          return args.get(i + 1).substring(key.length() + 1);
        }
      }
      return null;
    }

    String option(String name) {
      int i = args.indexOf(name);
      return i < 0 ? null : args.get(i + 1);
    }
  }

  private Result run(String... wrapperArgs) throws Exception {
    Path printer = tmp.resolve("print-args.sh");
    Files.writeString(printer, "#!/usr/bin/env bash\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n");
    printer.toFile().setExecutable(true);
    Path jar = Files.writeString(tmp.resolve("app.jar"), "");
    List<String> cmd = new ArrayList<>(List.of("bash", SCRIPT.toString()));
    cmd.addAll(List.of(wrapperArgs));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("SPARK_SUBMIT", printer.toString());
    pb.environment().put("CORY_JAR", jar.toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    return new Result(p.exitValue(), out.lines().toList(), out);
  }

  @Test
  void yarnClusterModeShipsTheLogConfigAndTheDiscoveryScriptAndAsksForYarnGpus() throws Exception {
    Result r = run("--master", "yarn", "--deploy-mode", "cluster", "--queue", "gpu", "--workers", "4", "--cores", "8",
        "--gpus", "--", "--config", "conf/x.conf");
    assertEquals(0, r.exit(), r.output());
    assertEquals("cluster", r.option("--deploy-mode"));
    assertEquals("gpu", r.conf("spark.yarn.queue"));
    assertEquals("4", r.conf("spark.executor.instances"));
    assertEquals("8", r.conf("spark.task.cpus"));
    assertEquals("1", r.conf("spark.executor.resource.gpu.amount"));
    assertEquals("1", r.conf("spark.task.resource.gpu.amount"));
    // YARN: Spark maps the gpu resource to yarn.io/gpu; the script lands in each container's directory
    assertEquals("./gpu-discovery.sh", r.conf("spark.executor.resource.gpu.discoveryScript"));
    assertEquals(null, r.conf("spark.executor.resource.gpu.vendor"));
    String files = r.option("--files");
    assertTrue(files.contains(HERE.resolve("conf/log4j2.properties").toString())
        && files.contains(HERE.resolve("deploy/gpu-discovery.sh").toString()), files);
    assertTrue(r.conf("spark.driver.extraJavaOptions").endsWith("-Dlog4j2.configurationFile=log4j2.properties"));
    assertTrue(r.conf("spark.executor.extraJavaOptions").contains("--add-modules=jdk.incubator.vector"));
    assertEquals("1.0", r.conf("spark.scheduler.minRegisteredResourcesRatio"));
    assertEquals("false", r.conf("spark.dynamicAllocation.enabled"));
    int app = r.args().indexOf("workers=4");
    assertEquals(List.of("workers=4", "--config", "conf/x.conf"), r.args().subList(app, r.args().size()));
  }

  @Test
  void kubernetesUsesTheImagesJarScriptAndLogConfigAndNvidiaGpus() throws Exception {
    Result r = run("--master", "k8s://https://api:6443", "--deploy-mode", "cluster", "--gpus", "--", "x=1");
    assertEquals(0, r.exit(), r.output());
    assertEquals("nvidia.com", r.conf("spark.executor.resource.gpu.vendor"));
    assertEquals("/opt/cory/deploy/gpu-discovery.sh", r.conf("spark.executor.resource.gpu.discoveryScript"));
    assertTrue(r.conf("spark.executor.extraJavaOptions").endsWith("/opt/cory/conf/log4j2.properties"));
    assertEquals(null, r.option("--files"), "nothing to upload: the image has it");
  }

  @Test
  void kerberosAndClientModeOnYarn() throws Exception {
    Path keytab = Files.writeString(tmp.resolve("cory.keytab"), "");
    Result r = run("--master", "yarn", "--principal", "cory@EXAMPLE.COM", "--keytab", keytab.toString(), "--conf",
        "spark.kerberos.access.hadoopFileSystems=hdfs://other:8020");
    assertEquals(0, r.exit(), r.output());
    assertEquals("client", r.option("--deploy-mode"));
    assertEquals("cory@EXAMPLE.COM", r.option("--principal"));
    assertEquals(keytab.toString(), r.option("--keytab"));
    assertEquals("hdfs://other:8020", r.conf("spark.kerberos.access.hadoopFileSystems"));
    // a client-mode driver reads this checkout's log configuration
    assertTrue(r.conf("spark.driver.extraJavaOptions").endsWith(HERE.resolve("conf/log4j2.properties").toString()));
  }

  @Test
  void badOptionsAreRefusedWithExitCode2() throws Exception {
    for (List<String> bad : List.of(List.of("--workers", "2"), List.of("--master", "yarn", "--deploy-mode", "remote"),
        List.of("--master", "yarn", "--workers", "zero"), List.of("--master", "yarn", "--principal", "p"),
        List.of("--master", "yarn", "--keytab", "/nonexistent.keytab", "--principal", "p"),
        List.of("--master", "yarn", "--bogus"), List.of("--master"))) {
      Result r = run(bad.toArray(new String[0]));
      assertEquals(2, r.exit(), bad + ": " + r.output());
      assertTrue(r.output().startsWith("spark-submit.sh: "), r.output());
      assertFalse(r.output().contains("--class"), "nothing was submitted: " + r.output());
    }
  }
}
