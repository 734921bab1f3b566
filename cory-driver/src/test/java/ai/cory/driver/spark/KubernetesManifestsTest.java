package ai.cory.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Settings;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.deploy.k8s.KubernetesConf$;
import org.apache.spark.deploy.k8s.KubernetesDriverConf;
import org.apache.spark.deploy.k8s.KubernetesDriverSpec;
import org.apache.spark.deploy.k8s.submit.JavaMainAppResource;
import org.apache.spark.deploy.k8s.submit.KubernetesDriverBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import scala.Option;
import scala.collection.JavaConverters;

/**
 * The Kubernetes manifests under {@code deploy/k8s/} as far as this machine can check them without
 * a cluster: they parse, agree with each other, with the run's config ({@code cory.workers}), the
 * image ({@code docker/Dockerfile}'s paths) and the GPU settings; and Spark's own Kubernetes code,
 * given the SparkApplication's settings the way the Spark operator passes them to spark-submit,
 * builds the driver pod (the cluster-mode submission's pod builder) and creates the executor pods
 * (the driver's executor allocator, in this JVM) on fabric8's Kubernetes API stand-in, with the GPU limits, the memory-backed
 * {@code /dev/shm} of the pod template and its node selection.
 */
@EnableKubernetesMockClient(crud = true, https = false)
final class KubernetesManifestsTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
  private static final Path K8S = REPO.resolve("deploy/k8s");
  /** Where docker/Dockerfile puts the repository's files in the image. */
  private static final String IMAGE_HOME = "/opt/cory/";
  private static final String NAMESPACE = "cory-test";

  KubernetesClient client;

  private static JsonNode yaml(String file) throws Exception {
    return YAML.readTree(K8S.resolve(file).toFile());
  }

  /** A path inside the image as the file of this repository it is copied from. */
  private static Path inRepo(String imagePath) {
    String p = imagePath.replaceFirst("^local://", "");
    assertTrue(p.startsWith(IMAGE_HOME), imagePath + " is not under " + IMAGE_HOME);
    return REPO.resolve(p.substring(IMAGE_HOME.length()));
  }

  @Test
  void manifestsAgreeWithEachOtherTheConfigAndTheImage() throws Exception {
    JsonNode app = yaml("sparkapplication.yaml");
    JsonNode scheduled = yaml("scheduledsparkapplication.yaml");
    assertEquals("SparkApplication", app.get("kind").asText());
    assertEquals("ScheduledSparkApplication", scheduled.get("kind").asText());
    JsonNode spec = app.get("spec");
    assertEquals(spec, scheduled.get("spec").get("template"), "the schedule runs the same application");
    assertEquals("Forbid", scheduled.get("spec").get("concurrencyPolicy").asText());
    assertTrue(scheduled.get("spec").get("schedule").asText().split(" ").length == 5, "a cron schedule");
    assertTrue(scheduled.get("spec").get("successfulRunHistoryLimit").asInt() > 0);
    assertTrue(scheduled.get("spec").get("failedRunHistoryLimit").asInt() > 0);

    assertEquals("cluster", spec.get("mode").asText());
    assertEquals("ai.cory.driver.CoryDriver", spec.get("mainClass").asText());
    assertEquals("OnFailure", spec.get("restartPolicy").get("type").asText());
    assertTrue(spec.get("restartPolicy").get("onFailureRetries").asInt() > 0);
    // the run's config with the application's arguments: W workers = executor instances
    List<String> args = new ArrayList<>();
    spec.get("arguments").forEach(a -> args.add(a.asText()));
    Path config = inRepo(args.get(args.indexOf("--config") + 1));
    List<String> overrides = new ArrayList<>(args.subList(args.indexOf("--config") + 2, args.size()));
    overrides.removeIf(a -> a.startsWith("--") || !a.contains("="));
    Settings settings = Settings.load(config, overrides);
    JsonNode executor = spec.get("executor");
    assertEquals(settings.runtime().workers(), executor.get("instances").asInt(), "cory.workers = executors");
    assertTrue(settings.run().store().startsWith("hdfs://"), "checkpoints in a store that outlives the pods");
    Map<String, String> conf = sparkConf(spec);
    assertEquals(executor.get("cores").asText(), conf.get("spark.task.cpus"), "one task owns the executor");
    assertEquals(executor.get("cores").asText(), conf.get("spark.executorEnv.OMP_NUM_THREADS"));
    assertEquals("false", conf.get("spark.dynamicAllocation.enabled"));
    assertEquals("1.0", conf.get("spark.scheduler.minRegisteredResourcesRatio"));
    assertEquals("nvidia.com/gpu", executor.get("gpu").get("name").asText());
    assertEquals(executor.get("gpu").get("quantity").asText(), conf.get("spark.task.resource.gpu.amount"));
    assertEquals("nvidia.com", conf.get("spark.executor.resource.gpu.vendor"));
    // every file the manifests name inside the image is one the Dockerfile copies there
    String dockerfile = Files.readString(REPO.resolve("docker/Dockerfile"));
    Matcher jarCopy = Pattern.compile("COPY (\\S+) " + IMAGE_HOME + "(\\S+\\.jar)").matcher(dockerfile);
    assertTrue(jarCopy.find(), "the Dockerfile copies the application jar");
    assertEquals("local://" + IMAGE_HOME + jarCopy.group(2), spec.get("mainApplicationFile").asText());
    assertTrue(jarCopy.group(1).startsWith("cory-driver/target/cory-driver-") && jarCopy.group(1).endsWith("-spark.jar"));
    for (String dir : List.of("conf/", "deploy/")) {
      assertTrue(dockerfile.contains("COPY " + dir + " " + IMAGE_HOME + dir), "the Dockerfile copies " + dir);
    }
    for (String file : List.of(conf.get("spark.kubernetes.executor.podTemplateFile"),
        conf.get("spark.executor.resource.gpu.discoveryScript"), config.toString().replace(REPO + "/", IMAGE_HOME))) {
      assertTrue(Files.isRegularFile(inRepo(file)), file);
    }
    assertTrue(conf.get("spark.executor.extraJavaOptions").contains("-Dlog4j2.configurationFile=" + IMAGE_HOME
        + "conf/log4j2.properties"));
    Matcher sparkImage = Pattern.compile("ARG SPARK_IMAGE=apache/spark:(3\\.5\\.\\d+)-scala2\\.12-java17")
        .matcher(dockerfile);
    assertTrue(sparkImage.find());
    assertEquals(sparkImage.group(1), spec.get("sparkVersion").asText(), "the image's Spark");
    // the driver's service account may manage its executors
    List<JsonNode> rbac = new ArrayList<>();
    YAML.readerFor(JsonNode.class).readValues(K8S.resolve("rbac.yaml").toFile()).forEachRemaining(n -> rbac.add((JsonNode) n));
    assertEquals(spec.get("driver").get("serviceAccount").asText(), rbac.get(0).get("metadata").get("name").asText());
    String verbs = rbac.get(1).get("rules").get(0).get("verbs").toString();
    assertTrue(verbs.contains("create") && verbs.contains("delete") && verbs.contains("watch"), verbs);
  }

  /** The SparkApplication's {@code sparkConf} block. */
  private static Map<String, String> sparkConf(JsonNode spec) {
    Map<String, String> conf = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = spec.get("sparkConf").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      conf.put(e.getKey(), e.getValue().asText());
    }
    return conf;
  }

  /**
   * What the Spark operator passes to spark-submit for this spec (its {@code sparkConf}, the
   * driver's and executors' resources, labels, annotations and GPU), on the stand-in's API; files
   * the image holds are read from this repository.
   */
  private SparkConf operatorSubmission(JsonNode app) {
    JsonNode spec = app.get("spec");
    SparkConf conf = new SparkConf(false);
    sparkConf(spec).forEach(conf::set);
    JsonNode driver = spec.get("driver");
    JsonNode executor = spec.get("executor");
    conf.set("spark.master", "k8s://" + client.getMasterUrl())
        .set("spark.kubernetes.namespace", NAMESPACE)
        .set("spark.app.name", app.get("metadata").get("name").asText())
        .set("spark.kubernetes.container.image", spec.get("image").asText())
        .set("spark.kubernetes.container.image.pullPolicy", spec.get("imagePullPolicy").asText())
        .set("spark.driver.cores", driver.get("cores").asText())
        .set("spark.driver.memory", driver.get("memory").asText())
        .set("spark.kubernetes.authenticate.driver.serviceAccountName", driver.get("serviceAccount").asText())
        .set("spark.executor.instances", executor.get("instances").asText())
        .set("spark.executor.cores", executor.get("cores").asText())
        .set("spark.executor.memory", executor.get("memory").asText())
        .set("spark.executor.memoryOverhead", executor.get("memoryOverhead").asText())
        .set("spark.executor.resource.gpu.amount", executor.get("gpu").get("quantity").asText())
        .set("spark.kubernetes.executor.podTemplateFile",
            inRepo(conf.get("spark.kubernetes.executor.podTemplateFile")).toString())
        .set("spark.executor.resource.gpu.discoveryScript",
            inRepo(conf.get("spark.executor.resource.gpu.discoveryScript")).toString());
    driver.get("labels").fields().forEachRemaining(e -> conf.set("spark.kubernetes.driver.label." + e.getKey(),
        e.getValue().asText()));
    driver.get("annotations").fields().forEachRemaining(e -> conf.set("spark.kubernetes.driver.annotation."
        + e.getKey(), e.getValue().asText()));
    executor.get("labels").fields().forEachRemaining(e -> conf.set("spark.kubernetes.executor.label." + e.getKey(),
        e.getValue().asText()));
    return conf;
  }

  @Test
  @Timeout(120)
  void sparksKubernetesCodeBuildsTheDriverAndExecutorPodsOfTheManifest() throws Exception {
    JsonNode app = yaml("sparkapplication.yaml");
    JsonNode spec = app.get("spec");
    int executors = spec.get("executor").get("instances").asInt();

    // cluster-mode submission: the driver pod spark-submit's Kubernetes client builds from the settings
    // (the stand-in lacks server-side apply, which the client then uses to create the driver's service)
    SparkConf submit = operatorSubmission(app).set("spark.submit.deployMode", "cluster");
    List<String> appArgs = new ArrayList<>();
    spec.get("arguments").forEach(a -> appArgs.add(a.asText()));
    KubernetesDriverConf submitted = KubernetesConf$.MODULE$.createDriverConf(submit, "spark-cory-test",
        new JavaMainAppResource(Option.apply(spec.get("mainApplicationFile").asText())), spec.get("mainClass").asText(),
        appArgs.toArray(new String[0]), Option.empty());
    KubernetesDriverSpec built = new KubernetesDriverBuilder().buildFromFeatures(submitted, client);
    Pod driverPod = built.pod().pod();
    Container driver = built.pod().container();
    assertEquals("driver", driverPod.getMetadata().getLabels().get("spark-role"));
    assertEquals("cory", driverPod.getMetadata().getLabels().get("app.kubernetes.io/name"));
    assertEquals("true", driverPod.getMetadata().getAnnotations().get("prometheus.io/scrape"));
    assertEquals("cory-spark", driverPod.getSpec().getServiceAccountName());
    assertEquals(spec.get("image").asText(), driver.getImage());
    assertTrue(driver.getArgs().contains("ai.cory.driver.CoryDriver") && driver.getArgs().contains(
        spec.get("mainApplicationFile").asText()) && driver.getArgs().contains("workers=8"), driver.getArgs().toString());
    assertEquals(new Quantity("2"), driver.getResources().getRequests().get("cpu"));
    assertTrue(JavaConverters.seqAsJavaList(built.driverKubernetesResources()).stream()
        .anyMatch(r -> r.getKind().equals("Service")), "the driver's service for its executors");

    // the driver's executor allocator (client mode here: this JVM is the driver) creates the executor pods
    SparkConf driverConf = operatorSubmission(app).set("spark.submit.deployMode", "client")
        .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
        .set("spark.ui.enabled", "false")
        .set("spark.scheduler.maxRegisteredResourcesWaitingTime", "1s") // no pod runs on the stand-in
        .set("spark.kubernetes.allocation.batch.size", Integer.toString(executors));
    SparkContext sc = new SparkContext(driverConf);
    List<Pod> executorPods;
    try {
      long deadline = System.currentTimeMillis() + 60_000;
      do {
        Thread.sleep(50);
        executorPods = client.pods().inNamespace(NAMESPACE).withLabel("spark-role", "executor").list().getItems();
        for (Pod p : executorPods) { // the stand-in has no scheduler: report new pods as a real API server does
          if (p.getStatus() == null) {
            p.setStatus(new PodStatusBuilder().withPhase("Pending").build());
            client.pods().inNamespace(NAMESPACE).resource(p).updateStatus();
          }
        }
      } while (executorPods.size() < executors && System.currentTimeMillis() < deadline);
    } finally {
      sc.stop();
    }
    assertEquals(executors, executorPods.size(), "one pod per worker");
    for (Pod pod : executorPods) {
      Container c = pod.getSpec().getContainers().get(0);
      assertEquals(spec.get("image").asText(), c.getImage());
      Map<String, Quantity> limits = c.getResources().getLimits();
      assertEquals(new Quantity("1"), limits.get("nvidia.com/gpu"), "one GPU: " + limits);
      // memory = heap + overhead, from the manifest; the template's node selection and tolerations
      assertEquals(Quantity.getAmountInBytes(new Quantity("64Gi")), Quantity.getAmountInBytes(
          c.getResources().getRequests().get("memory")));
      assertEquals("true", pod.getSpec().getNodeSelector().get("nvidia.com/gpu.present"));
      assertEquals("nvidia.com/gpu", pod.getSpec().getTolerations().get(0).getKey());
      Volume shm = pod.getSpec().getVolumes().stream().filter(v -> v.getName().equals("dshm")).findFirst()
          .orElse(null);
      assertNotNull(shm, "the template's /dev/shm volume: " + pod.getSpec().getVolumes());
      assertEquals("Memory", shm.getEmptyDir().getMedium());
      assertEquals(new Quantity("2Gi"), shm.getEmptyDir().getSizeLimit());
      assertTrue(c.getVolumeMounts().stream().anyMatch(m -> m.getName().equals("dshm")
          && m.getMountPath().equals("/dev/shm")), c.getVolumeMounts().toString());
      assertTrue(c.getEnv().stream().anyMatch(e -> e.getName().equals("OMP_NUM_THREADS")
          && e.getValue().equals("8")), c.getEnv().toString());
      assertEquals("cory", pod.getMetadata().getLabels().get("app.kubernetes.io/name"));
    }
  }
}
