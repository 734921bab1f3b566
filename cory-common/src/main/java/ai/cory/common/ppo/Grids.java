package ai.cory.common.ppo;

import java.util.Arrays;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Shape checks and conversions for the (B, T) per-token grids used throughout this package.
 * Grids are rectangular {@code double[][]}; masks hold exactly 0.0 or 1.0.
 */
public final class Grids {
  private Grids() {}

  /**
   * Checks that {@code grid} is a non-empty rectangular (B, T) array.
   *
   * @return {@code grid}
   * @throws IllegalArgumentException naming {@code name} if it is null, empty or ragged
   */
  public static double[][] requireGrid(String name, double[][] grid) {
    Objects.requireNonNull(grid, name);
    if (grid.length == 0 || grid[0] == null || grid[0].length == 0) {
      throw new IllegalArgumentException(name + " must be a non-empty (B, T) grid");
    }
    int cols = grid[0].length;
    for (int j = 0; j < grid.length; j++) {
      if (grid[j] == null || grid[j].length != cols) {
        throw new IllegalArgumentException(name + " is ragged: row 0 has " + cols + " columns, row " + j
            + " has " + (grid[j] == null ? "null" : grid[j].length));
      }
    }
    return grid;
  }

  /** Checks that {@code grid} has the same (B, T) shape as {@code reference}. */
  public static double[][] requireSameShape(String name, double[][] grid, String referenceName,
      double[][] reference) {
    requireGrid(name, grid);
    if (grid.length != reference.length || grid[0].length != reference[0].length) {
      throw new IllegalArgumentException(name + " has shape " + shape(grid) + " but " + referenceName
          + " has shape " + shape(reference));
    }
    return grid;
  }

  /** Checks that {@code mask} is a grid of the shape of {@code reference} holding only 0 and 1. */
  public static double[][] requireMask(double[][] mask, String referenceName, double[][] reference) {
    requireSameShape("mask", mask, referenceName, reference);
    for (int j = 0; j < mask.length; j++) {
      for (int t = 0; t < mask[j].length; t++) {
        double m = mask[j][t];
        if (m != 0.0 && m != 1.0) {
          throw new IllegalArgumentException("mask[" + j + "][" + t + "] must be 0 or 1, got " + m);
        }
      }
    }
    return mask;
  }

  /** "(B, T)" of a grid, for messages. */
  public static String shape(double[][] grid) {
    return "(" + grid.length + ", " + (grid.length == 0 ? 0 : grid[0].length) + ")";
  }

  /** A new grid of the given shape filled with zeros. */
  public static double[][] zeros(int rows, int cols) {
    return new double[rows][cols];
  }

  /** Deep copy. */
  public static double[][] copy(double[][] grid) {
    double[][] out = new double[grid.length][];
    for (int j = 0; j < grid.length; j++) {
      out[j] = grid[j].clone();
    }
    return out;
  }

  /** Element-wise {@code a * b} (TRL's {@code values * mask}). */
  public static double[][] multiply(double[][] a, double[][] b) {
    requireSameShape("b", b, "a", a);
    double[][] out = new double[a.length][a[0].length];
    for (int j = 0; j < a.length; j++) {
      for (int t = 0; t < a[j].length; t++) {
        out[j][t] = a[j][t] * b[j][t];
      }
    }
    return out;
  }

  /**
   * The grid as an ND4J array of the given type, shape (B, T): the form in which the engine
   * takes upstream gradients.
   */
  public static INDArray toINDArray(double[][] grid, DataType type) {
    requireGrid("grid", grid);
    INDArray asDouble = Nd4j.create(grid); // (B, T) DOUBLE
    return type == DataType.DOUBLE ? asDouble : asDouble.castTo(type);
  }

  /** A rank-2 ND4J array (any floating type) copied into a double grid of the same shape. */
  public static double[][] fromINDArray(String name, INDArray array) {
    Objects.requireNonNull(array, name);
    if (array.rank() != 2) {
      throw new IllegalArgumentException(name + " must be rank 2 (B, T), got shape "
          + Arrays.toString(array.shape()));
    }
    return array.toDoubleMatrix();
  }
}
