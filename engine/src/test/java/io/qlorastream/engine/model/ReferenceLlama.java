package io.qlorastream.engine.model;

import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.tensor.WeightMatrix;

/**
 * A slow, obviously-correct Llama forward for one unpadded sequence: plain loops in double precision, straight from
 * the transformers formulas (RMSNorm, rotate_half RoPE with inv_freq and llama3 scaling recomputed here, GQA by
 * repeating KV heads, causal softmax, SwiGLU). Only the weights are shared with the engine.
 */
final class ReferenceLlama {
    private ReferenceLlama() {
    }

    static double[][] matrix(WeightMatrix w) {
        float[] all = new float[w.rows() * w.cols()];
        w.dequantizeRows(0, w.rows(), all, 0);
        double[][] m = new double[w.rows()][w.cols()];
        for (int i = 0; i < w.rows(); i++) {
            for (int j = 0; j < w.cols(); j++) {
                m[i][j] = all[i * w.cols() + j];
            }
        }
        return m;
    }

    static double[] linear(double[] x, Linear l) {
        double[][] w = matrix(l.weight);
        double[] y = new double[w.length];
        for (int o = 0; o < w.length; o++) {
            double s = l.bias == null ? 0 : l.bias[o];
            for (int i = 0; i < x.length; i++) {
                s += w[o][i] * x[i];
            }
            y[o] = s;
        }
        return y;
    }

    static double[] rmsNorm(double[] x, float[] w, double eps) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double r = 1 / Math.sqrt(ss / x.length + eps);
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] * r * w[i];
        }
        return y;
    }

    static double[] invFreq(LlamaConfig c) {
        int d = c.headDim();
        double[] inv = new double[d / 2];
        for (int i = 0; i < d / 2; i++) {
            inv[i] = Math.pow(c.ropeTheta(), -2.0 * i / d);
            LlamaConfig.RopeScaling s = c.ropeScaling();
            if (s != null) {
                double wavelen = 2 * Math.PI / inv[i];
                double low = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
                double high = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
                if (wavelen > low) {
                    inv[i] = inv[i] / s.factor();
                } else if (wavelen >= high) {
                    double sm = (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                    inv[i] = (1 - sm) * inv[i] / s.factor() + sm * inv[i];
                }
            }
        }
        return inv;
    }

    /** x holds heads × d values; cat(f, f) angles; q·cos + rotate_half(q)·sin. */
    static void rope(double[] x, int heads, int d, int pos, double[] inv) {
        for (int h = 0; h < heads; h++) {
            double[] head = new double[d];
            System.arraycopy(x, h * d, head, 0, d);
            for (int i = 0; i < d; i++) {
                double angle = pos * inv[i % (d / 2)];
                double rotated = i < d / 2 ? -head[i + d / 2] : head[i - d / 2];
                x[h * d + i] = head[i] * Math.cos(angle) + rotated * Math.sin(angle);
            }
        }
    }

    static double[][] logits(LlamaWeights w, int[] tokens) {
        LlamaConfig c = w.config;
        int t = tokens.length;
        int d = c.headDim();
        double[] inv = invFreq(c);
        double[][] emb = matrix(w.tokenEmbedding);
        double[][] x = new double[t][];
        for (int i = 0; i < t; i++) {
            x[i] = emb[tokens[i]].clone();
        }
        for (LayerWeights layer : w.layers) {
            double[][] q = new double[t][], k = new double[t][], v = new double[t][];
            for (int i = 0; i < t; i++) {
                double[] h = rmsNorm(x[i], layer.inputNorm, c.rmsNormEps());
                q[i] = linear(h, layer.q);
                k[i] = linear(h, layer.k);
                v[i] = linear(h, layer.v);
                rope(q[i], c.numHeads(), d, i, inv);
                rope(k[i], c.numKvHeads(), d, i, inv);
            }
            for (int i = 0; i < t; i++) {
                double[] att = new double[c.numHeads() * d];
                for (int h = 0; h < c.numHeads(); h++) {
                    int kv = h / (c.numHeads() / c.numKvHeads());
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        for (int e = 0; e < d; e++) {
                            s[j] += q[i][h * d + e] * k[j][kv * d + e];
                        }
                        s[j] /= Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        for (int e = 0; e < d; e++) {
                            att[h * d + e] += s[j] / sum * v[j][kv * d + e];
                        }
                    }
                }
                double[] o = linear(att, layer.o);
                for (int e = 0; e < o.length; e++) {
                    x[i][e] += o[e];
                }
                double[] h2 = rmsNorm(x[i], layer.postAttentionNorm, c.rmsNormEps());
                double[] gate = linear(h2, layer.gate);
                double[] up = linear(h2, layer.up);
                double[] mid = new double[gate.length];
                for (int e = 0; e < gate.length; e++) {
                    mid[e] = gate[e] / (1 + Math.exp(-gate[e])) * up[e];
                }
                double[] down = linear(mid, layer.down);
                for (int e = 0; e < down.length; e++) {
                    x[i][e] += down[e];
                }
            }
        }
        double[][] head = matrix(w.lmHead);
        double[][] out = new double[t][c.vocabSize()];
        for (int i = 0; i < t; i++) {
            double[] h = rmsNorm(x[i], w.finalNorm, c.rmsNormEps());
            for (int vtok = 0; vtok < c.vocabSize(); vtok++) {
                for (int e = 0; e < h.length; e++) {
                    out[i][vtok] += head[vtok][e] * h[e];
                }
            }
        }
        return out;
    }

    /** Mean NLL over targets with the HF shift (logits[t] vs labels[t+1], -100 ignored). */
    static double meanNll(double[][] logits, int[] labels) {
        double nll = 0;
        int n = 0;
        for (int t = 0; t + 1 < labels.length; t++) {
            int target = labels[t + 1];
            if (target == -100) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (double l : logits[t]) {
                max = Math.max(max, l);
            }
            double sum = 0;
            for (double l : logits[t]) {
                sum += Math.exp(l - max);
            }
            nll += max + Math.log(sum) - logits[t][target];
            n++;
        }
        return nll / n;
    }
}
