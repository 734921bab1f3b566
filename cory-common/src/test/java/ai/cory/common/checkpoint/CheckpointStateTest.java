package ai.cory.common.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.checkpoint.CheckpointManifest.FileEntry;
import ai.cory.common.checkpoint.CheckpointState.AgentState;
import ai.cory.common.ppo.RunningMoments;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** JSON of the checkpoint metadata: exact round trips, deterministic bytes, strict parsing. */
class CheckpointStateTest {

  static CheckpointState sampleState() {
    Map<String, String> roles = new LinkedHashMap<>();
    roles.put("B", "observer");
    roles.put("A", "pioneer");
    AgentState a = new AgentState(40, 0.2 * 1.0123456789, new RunningMoments(0.1, 2.5, 1.58,
        RunningMoments.INITIAL_COUNT + 64), Map.of("lr", 1.41e-5));
    AgentState b = new AgentState(40, 0.05, RunningMoments.initial(), Map.of());
    return new CheckpointState(10, roles, Map.of("A", a, "B", b),
        Map.of("seed", 42L, "counter", Long.MIN_VALUE),
        Map.of("note", "héllo ✓"));
  }

  @Test
  void stateRoundTripsExactlyWithSortedDeterministicJson() throws IOException {
    CheckpointState s = sampleState();
    byte[] json = s.toJson();
    CheckpointState back = CheckpointState.fromJson(json, "state.json");
    assertEquals(s, back);
    assertEquals(1e-24 + 64, back.agents().get("A").scoreMoments().count(), 0.0);
    assertArrayEquals(json, back.toJson(), "equal states give identical bytes");
    String text = new String(json, StandardCharsets.UTF_8);
    assertTrue(text.indexOf("\"A\"") < text.indexOf("\"B\""), "map keys sorted: " + text);
    assertTrue(text.contains("\"optimizer_steps\""), text);
  }

  @Test
  void aCheckpointOfEarlierVersionsWithADataPositionStillReads() throws IOException {
    // written before the data position was found re-derivable from the iteration
    String legacy = new String(sampleState().toJson(), StandardCharsets.UTF_8)
        .replaceFirst("\\{", "{\"data\": {\"epoch\": 1, \"offset\": 96},");
    assertEquals(sampleState(), CheckpointState.fromJson(legacy.getBytes(StandardCharsets.UTF_8), "state.json"));
    assertFalse(new String(sampleState().toJson(), StandardCharsets.UTF_8).contains("\"data\""),
        "nothing written that is never read");
  }

  @Test
  void strictParsingNamesTheFile() {
    String unknown = new String(sampleState().toJson(), StandardCharsets.UTF_8)
        .replaceFirst("\\{", "{\"surprise\": 1,");
    IOException e = assertThrows(IOException.class, () -> CheckpointState.fromJson(
        unknown.getBytes(StandardCharsets.UTF_8), "hdfs://nn/run/iter-000010/state.json"));
    assertTrue(e.getMessage().startsWith("hdfs://nn/run/iter-000010/state.json"), e.getMessage());
    assertTrue(e.getMessage().contains("surprise"), e.getMessage());
    IOException negative = assertThrows(IOException.class, () -> CheckpointState.fromJson(
        new String(sampleState().toJson(), StandardCharsets.UTF_8)
            .replace("\"iteration\" : 10", "\"iteration\" : -3").getBytes(StandardCharsets.UTF_8),
        "state.json"));
    assertTrue(negative.getMessage().contains("iteration must be >= 0"), negative.getMessage());
  }

  @Test
  void manifestRoundTripsAndRefusesOtherVersionsAndEscapingNames() throws IOException {
    CheckpointManifest m = CheckpointManifest.of(7, ChecksumAlgorithm.SHA256, List.of(
        new FileEntry("state.json", 12, ChecksumAlgorithm.SHA256.of(new byte[12])),
        new FileEntry("agent-A/model.safetensors", 1 << 20, "0123abcd")));
    assertEquals(m, CheckpointManifest.fromJson(m.toJson(), "manifest.json"));
    assertEquals(12 + (1 << 20), m.totalBytes());
    byte[] v2 = new String(m.toJson(), StandardCharsets.UTF_8)
        .replace("\"format_version\" : 1", "\"format_version\" : 2").getBytes(StandardCharsets.UTF_8);
    IOException e = assertThrows(IOException.class, () -> CheckpointManifest.fromJson(v2, "m.json"));
    assertTrue(e.getMessage().contains("unsupported checkpoint format_version 2"), e.getMessage());
    for (String bad : new String[] {"../x", "/abs", "a//b", "manifest.json", "_COMMITTED", "a/./b",
        // read as URIs by Hadoop's new Path(dir, name): a manifest could open any file or cluster
        "file:/etc/hostname", "hdfs://nn/secret", "agent-A/s3a:x", "C:\\x", "a b", "%2e%2e/x"}) {
      assertThrows(IllegalArgumentException.class, () -> new FileEntry(bad, 1, "0123abcd"), bad);
    }
    for (String good : new String[] {"agent-A/model.safetensors", "special_tokens_map.json", "config.conf"}) {
      assertEquals(good, new FileEntry(good, 1, "0123abcd").name());
    }
  }

  @Test
  void checksumsMatchKnownVectors() {
    byte[] digits = "123456789".getBytes(StandardCharsets.US_ASCII);
    // CRC-32C check value (RFC 3720 appendix B.4 parameters; "123456789" -> 0xE3069283)
    assertEquals("e3069283", ChecksumAlgorithm.CRC32C.of(digits));
    // FIPS 180-2 test vector "abc"
    assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ChecksumAlgorithm.SHA256.of("abc".getBytes(StandardCharsets.US_ASCII)));
  }

  @Test
  void directoryNamesParse() {
    assertEquals("iter-000123", CheckpointLayout.committedDirName(123));
    assertEquals(123, CheckpointLayout.parseCommittedDir("iter-000123").getAsLong());
    assertEquals(1234567, CheckpointLayout.parseCommittedDir("iter-1234567").getAsLong());
    assertTrue(CheckpointLayout.parseCommittedDir("iter-12").isEmpty());
    String tmp = CheckpointLayout.tmpDirName(5, java.util.UUID.randomUUID());
    assertEquals(5, CheckpointLayout.parseTmpDir(tmp).getAsLong());
    assertThrows(IllegalArgumentException.class, () -> CheckpointLayout.agentDir("../A"));
  }
}
