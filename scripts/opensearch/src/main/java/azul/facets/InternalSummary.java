package azul.facets;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.search.aggregations.InternalAggregation;

/**
 * The figures of an {@code azul_summary}, each shown as OpenSearch shows the
 * aggregation it stands for: a sum or a cardinality as {@code {"value": V}},
 * the documents per value as a {@code terms} aggregation of unlimited size
 * with a {@code sum} sub-aggregation per summed field ({@code sum0},
 * {@code sum1}, ...) and a {@code terms} one per field of distinct values
 * ({@code distinct0}, ...). Values are kept, not only counted, so that the
 * figures of several shards add up exactly.
 */
public final class InternalSummary extends AzulResult {

    /** A sum, compensated for rounding as OpenSearch's {@code sum} is (Kahan). */
    static final class Sum {
        private final double[] value = new double[1];
        private final double[] compensation = new double[1];

        double value() {
            return value[0];
        }

        void add(double x) {
            add(value, compensation, 0, x);
        }

        /** Adds {@code x} to the {@code i}th of sums kept in arrays. */
        static void add(double[] values, double[] compensations, int i, double x) {
            double sum = values[i];
            if (Double.isFinite(x) && Double.isFinite(sum)) {
                double y = x - compensations[i];
                double t = sum + y;
                compensations[i] = (t - sum) - y;
                values[i] = t;
            } else {
                values[i] = sum + x;
            }
        }
    }

    /** The documents of one value of a {@code terms} part. */
    static final class Bucket {
        long count;
        final Sum[] sums;
        final List<Set<Object>> distinct = new ArrayList<>();

        Bucket(int sums, int distinct) {
            this.sums = new Sum[sums];
            for (int j = 0; j < sums; j++) {
                this.sums[j] = new Sum();
            }
            for (int j = 0; j < distinct; j++) {
                this.distinct.add(new HashSet<>());
            }
        }

        void add(Bucket other) {
            count += other.count;
            for (int j = 0; j < sums.length; j++) {
                sums[j].add(other.sums[j].value());
            }
            for (int j = 0; j < distinct.size(); j++) {
                distinct.get(j).addAll(other.distinct.get(j));
            }
        }
    }

    /** The figure of one part: which field is set depends on the part's kind. */
    static final class Figure {
        final SummaryPart part;
        final Sum sum = new Sum();
        final Set<Object> values = new HashSet<>();
        final Map<Object, Bucket> buckets = new HashMap<>();

        Figure(SummaryPart part) {
            this.part = part;
        }

        Bucket bucket(Object key) {
            return buckets.computeIfAbsent(key, k -> new Bucket(part.sums.size(), part.distinct.size()));
        }

        void add(Figure other) {
            sum.add(other.sum.value());
            values.addAll(other.values);
            for (Map.Entry<Object, Bucket> entry : other.buckets.entrySet()) {
                bucket(entry.getKey()).add(entry.getValue());
            }
        }
    }

    private final Map<String, Figure> figures;

    InternalSummary(String name, Map<String, Figure> figures, Map<String, Object> metadata) {
        super(name, metadata);
        this.figures = figures;
    }

    static Map<String, Figure> empty(Map<String, SummaryPart> parts) {
        Map<String, Figure> figures = new LinkedHashMap<>();
        for (Map.Entry<String, SummaryPart> entry : parts.entrySet()) {
            figures.put(entry.getKey(), new Figure(entry.getValue()));
        }
        return figures;
    }

    public InternalSummary(StreamInput in) throws IOException {
        super(in);
        Map<String, SummaryPart> parts = SummaryBuilder.readParts(in);
        figures = empty(parts);
        for (Figure figure : figures.values()) {
            figure.sum.add(in.readDouble());
            int size = in.readVInt();
            for (int i = 0; i < size; i++) {
                figure.values.add(readKey(in));
            }
            size = in.readVInt();
            for (int i = 0; i < size; i++) {
                Bucket bucket = figure.bucket(readKey(in));
                bucket.count = in.readVLong();
                for (Sum sum : bucket.sums) {
                    sum.add(in.readDouble());
                }
                for (Set<Object> distinct : bucket.distinct) {
                    int n = in.readVInt();
                    for (int k = 0; k < n; k++) {
                        distinct.add(readKey(in));
                    }
                }
            }
        }
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        Map<String, SummaryPart> parts = new LinkedHashMap<>();
        figures.forEach((name, figure) -> parts.put(name, figure.part));
        SummaryBuilder.writeParts(out, parts);
        for (Figure figure : figures.values()) {
            out.writeDouble(figure.sum.value());
            out.writeVInt(figure.values.size());
            for (Object value : figure.values) {
                writeKey(out, value);
            }
            out.writeVInt(figure.buckets.size());
            for (Map.Entry<Object, Bucket> entry : figure.buckets.entrySet()) {
                Bucket bucket = entry.getValue();
                writeKey(out, entry.getKey());
                out.writeVLong(bucket.count);
                for (Sum sum : bucket.sums) {
                    out.writeDouble(sum.value());
                }
                for (Set<Object> distinct : bucket.distinct) {
                    out.writeVInt(distinct.size());
                    for (Object value : distinct) {
                        writeKey(out, value);
                    }
                }
            }
        }
    }

    // A value is a string, a long or a double (see Ids). Written by type, not
    // as a generic value: that looks the class up in a registry, per value,
    // which took a tenth of a filtered summary's time at a million documents
    private static void writeKey(StreamOutput out, Object key) throws IOException {
        if (key instanceof String) {
            out.writeByte((byte) 0);
            out.writeString((String) key);
        } else if (key instanceof Long) {
            out.writeByte((byte) 1);
            out.writeLong((Long) key);
        } else {
            out.writeByte((byte) 2);
            out.writeDouble((Double) key);
        }
    }

    private static Object readKey(StreamInput in) throws IOException {
        byte type = in.readByte();
        return type == 0 ? in.readString() : type == 1 ? (Object) in.readLong() : (Object) in.readDouble();
    }

    @Override
    public String getWriteableName() {
        return SummaryBuilder.NAME;
    }

    @Override
    public InternalAggregation reduce(List<InternalAggregation> aggregations, ReduceContext context) {
        Map<String, Figure> merged = null;
        for (InternalAggregation aggregation : aggregations) {
            Map<String, Figure> other = ((InternalSummary) aggregation).figures;
            if (merged == null) {
                Map<String, SummaryPart> parts = new LinkedHashMap<>();
                other.forEach((name, figure) -> parts.put(name, figure.part));
                merged = empty(parts);
            }
            for (Map.Entry<String, Figure> entry : other.entrySet()) {
                merged.get(entry.getKey()).add(entry.getValue());
            }
        }
        return new InternalSummary(name, merged == null ? new LinkedHashMap<>() : merged, metadata);
    }

    @Override
    public XContentBuilder doXContentBody(XContentBuilder builder, Params params) throws IOException {
        builder.startObject("parts");
        for (Map.Entry<String, Figure> entry : figures.entrySet()) {
            Figure figure = entry.getValue();
            builder.startObject(entry.getKey());
            switch (figure.part.kind) {
                case SUM:
                    builder.field("value", figure.sum.value());
                    break;
                case CARDINALITY:
                    builder.field("value", figure.values.size());
                    break;
                default:
                    terms(builder, figure);
            }
            builder.endObject();
        }
        return builder.endObject();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void terms(XContentBuilder builder, Figure figure) throws IOException {
        List<Map.Entry<Object, Bucket>> entries = new ArrayList<>(figure.buckets.entrySet());
        entries.sort((a, b) -> {
            int order = Long.compare(b.getValue().count, a.getValue().count);
            return order != 0 ? order : ((Comparable) a.getKey()).compareTo(b.getKey());
        });
        builder.field("doc_count_error_upper_bound", 0);
        builder.field("sum_other_doc_count", 0);
        builder.startArray("buckets");
        for (Map.Entry<Object, Bucket> entry : entries) {
            Bucket bucket = entry.getValue();
            builder.startObject();
            builder.field("key", entry.getKey());
            builder.field("doc_count", bucket.count);
            for (int j = 0; j < bucket.sums.length; j++) {
                builder.startObject("sum" + j).field("value", bucket.sums[j].value()).endObject();
            }
            for (int j = 0; j < bucket.distinct.size(); j++) {
                List<Object> values = new ArrayList<>(bucket.distinct.get(j));
                values.sort((a, b) -> ((Comparable) a).compareTo(b));
                builder.startObject("distinct" + j);
                builder.field("sum_other_doc_count", 0);
                builder.startArray("buckets");
                for (Object value : values) {
                    builder.startObject().field("key", value).endObject();
                }
                builder.endArray();
                builder.endObject();
            }
            builder.endObject();
        }
        builder.endArray();
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), figures.keySet());
    }

    @Override
    public boolean equals(Object obj) {
        if (this == obj) {
            return true;
        }
        if (obj == null || getClass() != obj.getClass() || !super.equals(obj)) {
            return false;
        }
        return figures.keySet().equals(((InternalSummary) obj).figures.keySet());
    }
}
