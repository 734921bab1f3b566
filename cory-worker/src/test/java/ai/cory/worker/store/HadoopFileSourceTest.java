package ai.cory.worker.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.FileSource;
import ai.cory.common.io.LocalFileSource;
import ai.cory.common.io.SafeTensors;
import ai.cory.common.model.HfConfigReader;
import ai.cory.common.testing.SharedAssets;
import ai.cory.common.tokenizer.HfTokenizer;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.LocalFileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Models read through Hadoop's real local FileSystem ({@code file://}) equal the direct read. */
class HadoopFileSourceTest {
  @TempDir Path tmp;

  private static final Configuration CONF = new Configuration();

  private static INDArray read(FileSource src, String name) throws IOException {
    SafeTensors st = SafeTensors.open(src);
    long[] shape = st.info(name).shape();
    INDArray dst = Nd4j.create(DataType.FLOAT, shape);
    st.readInto(name, shape, dst);
    return dst.reshape(dst.length());
  }

  @Test
  void fileUriGoesThroughHadoopAndMatchesTheLocalRead() throws IOException {
    Path dir = SharedAssets.model("stories260K");
    FileSource hadoop = FileSources.open(dir.toUri().toString(), CONF);
    assertInstanceOf(HadoopFileSource.class, hadoop);
    assertInstanceOf(LocalFileSystem.class,
        ((HadoopFileSource) hadoop).dir().getFileSystem(CONF), "Hadoop's real local file system");
    FileSource local = new LocalFileSource(dir);
    assertEquals(HfConfigReader.read(local), HfConfigReader.read(hadoop));
    for (String name : new String[] {"model.embed_tokens.weight", "model.layers.3.mlp.up_proj.weight"}) {
      assertArrayEquals(read(local, name).toFloatVector(), read(hadoop, name).toFloatVector(), name);
    }
    assertEquals(SafeTensors.open(local).names(), SafeTensors.open(hadoop).names());
    try (HfTokenizer a = HfTokenizer.load(local); HfTokenizer b = HfTokenizer.load(hadoop)) {
      assertArrayEquals(a.encode("Once upon a time", true), b.encode("Once upon a time", true));
      assertEquals(a.eosId(), b.eosId());
    }
  }

  @Test
  void multiChunkTensorAndOffsetReads() throws IOException {
    Path dir = SharedAssets.model("tiny-gpt2");
    FileSource hadoop = FileSources.open("file://" + dir, CONF);
    assertArrayEquals(read(new LocalFileSource(dir), "wte.weight").toFloatVector(),
        read(hadoop, "wte.weight").toFloatVector());
    byte[] all = Files.readAllBytes(dir.resolve("config.json"));
    assertEquals(all.length, hadoop.size("config.json"));
    try (InputStream in = hadoop.open("config.json", 10)) {
      assertArrayEquals(java.util.Arrays.copyOfRange(all, 10, all.length), in.readAllBytes());
    }
  }

  @Test
  void plainPathsStayLocal() throws IOException {
    assertInstanceOf(LocalFileSource.class, FileSources.open(tmp.toString(), CONF));
    assertInstanceOf(LocalFileSource.class, FileSources.open("relative/dir", CONF));
  }

  @Test
  void missingFilesNameTheUri() throws IOException {
    String uri = tmp.toUri().toString();
    FileSource src = FileSources.open(uri, CONF);
    assertFalse(src.exists("config.json"));
    String expected = "file:" + tmp.resolve("config.json");
    FileNotFoundException config = assertThrows(FileNotFoundException.class,
        () -> HfConfigReader.read(src));
    assertTrue(config.getMessage().contains(expected), config.getMessage());
    FileNotFoundException weights = assertThrows(FileNotFoundException.class,
        () -> SafeTensors.open(src));
    assertTrue(weights.getMessage().contains("file:" + tmp.resolve("model.safetensors"))
        && weights.getMessage().contains("model.safetensors.index.json"), weights.getMessage());
    FileNotFoundException open = assertThrows(FileNotFoundException.class, () -> src.open("x.bin", 0));
    assertTrue(open.getMessage().contains("file:" + tmp.resolve("x.bin")), open.getMessage());
    Files.createDirectories(tmp.resolve("sub"));
    assertFalse(src.exists("sub"), "a directory is not a file");
    assertThrows(FileNotFoundException.class, () -> src.size("sub"));
  }
}
