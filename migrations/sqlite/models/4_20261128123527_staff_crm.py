from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "binding_attempt" (
    "openid" VARCHAR(64) NOT NULL PRIMARY KEY,
    "failures" INT NOT NULL,
    "first_failed_at" TIMESTAMP NOT NULL,
    "locked_until" TIMESTAMP
) /* Wrong binding codes per openid: 5 misses within the window lock binding for that openid for an hour. */;
        CREATE TABLE IF NOT EXISTS "binding_code" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "code" VARCHAR(16) NOT NULL UNIQUE,
    "created_at" TIMESTAMP NOT NULL,
    "expires_at" TIMESTAMP NOT NULL,
    "used_at" TIMESTAMP,
    "used_by_openid" VARCHAR(64),
    "created_by_id" INT REFERENCES "staff" ("id") ON DELETE SET NULL,
    "staff_id" INT NOT NULL REFERENCES "staff" ("id") ON DELETE CASCADE
) /* A one-time code that binds a WeChat account to a staff record ("绑定 <code>" or a QR scan). */;
        CREATE TABLE IF NOT EXISTS "follow_up" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "method" VARCHAR(8) NOT NULL /* PHONE: phone\nWECHAT: wechat\nVISIT: visit\nOTHER: other */,
    "reached" INT NOT NULL,
    "result" VARCHAR(32) NOT NULL,
    "content" VARCHAR(500) NOT NULL,
    "next_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "customer_id" INT NOT NULL REFERENCES "customer" ("id") ON DELETE CASCADE,
    "staff_id" INT REFERENCES "staff" ("id") ON DELETE SET NULL
) /* One contact with a customer logged by a clerk (跟进), optionally with the next follow-up date. */;
CREATE INDEX IF NOT EXISTS "idx_follow_up_next_at_eeaa4f" ON "follow_up" ("next_at");
CREATE INDEX IF NOT EXISTS "idx_follow_up_custome_c3c3d7" ON "follow_up" ("customer_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_follow_up_staff_i_b8d7fa" ON "follow_up" ("staff_id", "created_at");
        CREATE TABLE IF NOT EXISTS "mileage_reading" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "km" INT NOT NULL,
    "at" TIMESTAMP NOT NULL,
    "source" VARCHAR(16) NOT NULL,
    "vehicle_id" INT NOT NULL REFERENCES "vehicle" ("id") ON DELETE CASCADE
) /* One odometer reading (a completed visit, 新增客户, an import): the basis of mileage estimates. */;
CREATE INDEX IF NOT EXISTS "idx_mileage_rea_vehicle_8ae215" ON "mileage_reading" ("vehicle_id", "at");
        CREATE TABLE IF NOT EXISTS "owner_change" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "reason" VARCHAR(32) NOT NULL,
    "at" TIMESTAMP NOT NULL,
    "by_staff_id" INT REFERENCES "staff" ("id") ON DELETE SET NULL,
    "customer_id" INT NOT NULL REFERENCES "customer" ("id") ON DELETE CASCADE,
    "from_staff_id" INT REFERENCES "staff" ("id") ON DELETE SET NULL,
    "to_staff_id" INT REFERENCES "staff" ("id") ON DELETE SET NULL
) /* The audit log of customer ownership: who moved which customer from whom to whom, and when. */;
CREATE INDEX IF NOT EXISTS "idx_owner_chang_custome_6c14ce" ON "owner_change" ("customer_id", "at");
        CREATE TABLE IF NOT EXISTS "task" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "kind" VARCHAR(16) NOT NULL /* MANUAL: manual\nNO_SHOW: no_show\nMAINTENANCE: maintenance\nFOLLOW_UP: follow_up */,
    "due_at" TIMESTAMP,
    "status" VARCHAR(8) NOT NULL /* OPEN: open\nDONE: done\nREVOKED: revoked */,
    "dedupe_key" VARCHAR(64) UNIQUE,
    "note" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "done_at" TIMESTAMP,
    "revoked_at" TIMESTAMP,
    "appointment_id" INT REFERENCES "appointment" ("id") ON DELETE SET NULL,
    "assignee_id" INT NOT NULL REFERENCES "staff" ("id") ON DELETE CASCADE,
    "created_by_id" INT REFERENCES "staff" ("id") ON DELETE SET NULL,
    "customer_id" INT REFERENCES "customer" ("id") ON DELETE SET NULL
) /* A piece of work for one staff member, with an optional deadline and linked customer. */;
CREATE INDEX IF NOT EXISTS "idx_task_assigne_30a7c0" ON "task" ("assignee_id", "status", "due_at");
CREATE INDEX IF NOT EXISTS "idx_task_status_0c5e79" ON "task" ("status", "due_at");
CREATE INDEX IF NOT EXISTS "idx_task_created_afb134" ON "task" ("created_at");
        ALTER TABLE "appointment" ADD "completed_at" TIMESTAMP;
        ALTER TABLE "appointment" ADD "mileage" INT;
        ALTER TABLE "appointment" ADD "booked_by_id" INT REFERENCES "staff" ("id") ON DELETE SET NULL;
        ALTER TABLE "appointment" ADD "note" VARCHAR(200) NOT NULL DEFAULT '';
        ALTER TABLE "appointment" ADD "checked_in_at" TIMESTAMP;
        ALTER TABLE "appointment" ADD "no_show_at" TIMESTAMP;
        ALTER TABLE "customer" ADD "mobile_rev" VARCHAR(11);
        ALTER TABLE "customer" ADD "updated_at" TIMESTAMP;
        ALTER TABLE "customer" ADD "note" VARCHAR(200) NOT NULL DEFAULT '';
        ALTER TABLE "customer" ADD "source" VARCHAR(8) NOT NULL DEFAULT 'wechat' /* WECHAT: wechat\nCLERK: clerk\nIMPORT: import */;
        ALTER TABLE "staff" ADD "tagged" INT NOT NULL DEFAULT 0;
        ALTER TABLE "staff" ADD "bound_at" TIMESTAMP;
        ALTER TABLE "staff" ADD "deactivated_at" TIMESTAMP;
        ALTER TABLE "staff" ADD "employee_no" VARCHAR(16);
        ALTER TABLE "vehicle" ADD "mileage" INT;
        ALTER TABLE "vehicle" ADD "last_service_at" TIMESTAMP;
        ALTER TABLE "vehicle" ADD "last_service" VARCHAR(32);
        ALTER TABLE "vehicle" ADD "mileage_at" TIMESTAMP;
        ALTER TABLE "vehicle" ADD "plate_rev" VARCHAR(10);
        ALTER TABLE "vehicle" ADD "purchase_date" DATE;
        CREATE INDEX "idx_appointment_status_5af54a" ON "appointment" ("status", "start_at");
        CREATE INDEX "idx_customer_mobile__145802" ON "customer" ("mobile_rev");
        CREATE INDEX "idx_customer_name_0aae8f" ON "customer" ("name");
        CREATE UNIQUE INDEX "uid_staff_employe_b38221" ON "staff" ("employee_no");
        CREATE INDEX "idx_staff_name_852109" ON "staff" ("name");
        CREATE INDEX "idx_vehicle_plate_r_92719e" ON "vehicle" ("plate_rev");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_vehicle_plate_r_92719e";
        DROP INDEX IF EXISTS "idx_staff_name_852109";
        DROP INDEX IF EXISTS "uid_staff_employe_b38221";
        DROP INDEX IF EXISTS "idx_customer_name_0aae8f";
        DROP INDEX IF EXISTS "idx_customer_mobile__145802";
        DROP INDEX IF EXISTS "idx_appointment_status_5af54a";
        ALTER TABLE "appointment" DROP FOREIGN KEY "fk_appointm_staff_40200a64";
        ALTER TABLE "appointment" DROP COLUMN "completed_at";
        ALTER TABLE "appointment" DROP COLUMN "mileage";
        ALTER TABLE "appointment" DROP COLUMN "booked_by_id";
        ALTER TABLE "appointment" DROP COLUMN "note";
        ALTER TABLE "appointment" DROP COLUMN "checked_in_at";
        ALTER TABLE "appointment" DROP COLUMN "no_show_at";
        ALTER TABLE "customer" DROP COLUMN "mobile_rev";
        ALTER TABLE "customer" DROP COLUMN "updated_at";
        ALTER TABLE "customer" DROP COLUMN "note";
        ALTER TABLE "customer" DROP COLUMN "source";
        ALTER TABLE "staff" DROP COLUMN "tagged";
        ALTER TABLE "staff" DROP COLUMN "bound_at";
        ALTER TABLE "staff" DROP COLUMN "deactivated_at";
        ALTER TABLE "staff" DROP COLUMN "employee_no";
        ALTER TABLE "vehicle" DROP COLUMN "mileage";
        ALTER TABLE "vehicle" DROP COLUMN "last_service_at";
        ALTER TABLE "vehicle" DROP COLUMN "last_service";
        ALTER TABLE "vehicle" DROP COLUMN "mileage_at";
        ALTER TABLE "vehicle" DROP COLUMN "plate_rev";
        ALTER TABLE "vehicle" DROP COLUMN "purchase_date";
        DROP TABLE IF EXISTS "binding_attempt";
        DROP TABLE IF EXISTS "binding_code";
        DROP TABLE IF EXISTS "mileage_reading";
        DROP TABLE IF EXISTS "owner_change";
        DROP TABLE IF EXISTS "task";
        DROP TABLE IF EXISTS "follow_up";"""


MODELS_STATE = (
    "eJztXetz27gR/1cw+nLOjJL6ET/O13ZGdpSLG9tKbSXp9NShIRKSOKYAliDtqO397wVAUn"
    "yBFClLNMXDF1sid0nqt+BisS/8tzMnBrLou55tExO7c4Tdzjn4bwfDOWIfZKe7oANtOzrJ"
    "D7hwbAl6mCIcU9eBOr/mBFoUsUMGorpj2q5JMGfoAYqcJ1NH4MmkpnsOCGYf0czULUbNvw"
    "Tnu+A36kLH1aDbBQgb7P8bYGLgzhiJSxz0EwXUIi6YOqbxjt/cIDq7u4mnW76Ph81/e0hz"
    "yRQxIofd7bd/scMmNtAPRPnX3zq6x3jnyNFMg7OwO7geDT6Je3UYy2/S4/xa9qM2MZFlJG"
    "TjX0oc19yFLY5dYfejIOS/f6zpxPLmOCK2F+6M4CW16UtpijByoIv45V3H41LCnmUFMg0F"
    "5//MiMT/fTEeA02gZ3FZc27/AaJjHU27HQy1+/5Q0zqZcRByxEQWHNIJ5mOIPSoVv37KH+"
    "Ht4cH70/dnRyfvzxiJeMzlkdPf/VtHwPiMAp7bYed3cR660KcQAopAddAEOQjrKIvt5Qw6"
    "cnATTCmM2cOnMQ4RbS7Ic/hDsxCeujP29eCwANFvvbvLT727vYPDN/yGhL3tvia4Dc4cil"
    "Mc9Ajk4FWrAnGMZTMAhwcihCMNVTvER2UgPsqH+CgLcag/Mhh/YCC55hzl4BzjSwFtBIzv"
    "wg+bgb3OgV2A8vDqpn8/7N184ZefU/pvS4DVG/b5mUNxdJE6uneSksjyIuD71fAT4F/BPw"
    "e3fYEmoe7UEXeM6Ib/7PBngp5LNEyeNWjEgQwPh4cSEvbnpqryjbjqkW6tL1WbxBuZAlkV"
    "2cfeXIj3iv18GMw76dc44K5PW3bGhDyicMiVFW7nYjD43P9wDnzuEb7s3V72r6/5IZ3/Ns"
    "sSRz/1LxmZdnXLDs+Qzkg1E7Pjg5sv1/2hoCZz20Iup74daPefBt/ZOCEanTGE15n2TspM"
    "e+khEpv2TjI6mXhO3qxXQqRL7hpFSpE1qSrQ+/71x3PAOZl4rvt3n5loLOQ8riOEsxIyOM"
    "sVwVlaAjqc29Cc4iqWR5xnLeSDCa4pSjIJ8Mn7EgifvM+FmJ9KYTyDeIokmit3bRLjWL1A"
    "2dTQ3m/0AiUGp4P4L19jqk9yqum+0dO9ZxtrijnJqcTcaDEvLZp13ucU7wZE3bCpqVWSXh"
    "qp64g6zaxk3WhZhyuPdUSd4lWSbrKkg/XkGnJOciopN1nKc9NCcCpZqecuYWIcay1hGibM"
    "TS9iMHEreftD+ho9HRW9HGsutw/390ustxlV7oJbnEui63vOtPFCqxQSTLOpgStZfSfjtm"
    "UdGkmu+pwaO4RsEHuvBmySSeEa4MpTBCaP0nh2OBSzIH8kDjKn+DNaZPzOKWCDJJDL2KV2"
    "DOTfw4EUHo00lwOfl7kV6ReXYcB+OTPO+bk7ZlbcXV0OO7JhvAF4v0VXaim6ybe3BLjLGW"
    "oD8N67cDLZvQmtLLbpyTyBLnsIcPv1+rojNMUY6o/P0DG0HJXhQvoocd9fBGwfP98hC4rf"
    "kQv2kF2iPVgL1MghiaGVwDF7an44Tx+BmK0PjODe/E4BVBfsx7KH6rkumtvS5LsURbco/2"
    "7s07JVZkS8Mgfvu0PwFASsQGdXpcBGDiA2wqZxDo7B3KSUHXw23VmQCvfMqMkzsIj+uOSc"
    "EIedg27AKL5DDGbEc7IJeXXddHV2Xm6CnX/FKuuWiKN1WWCbChTmp95NoGl5TqXIYZxFhQ"
    "7TJvbEdKircYzW8kxK2FV0qdF+K64Ymaw87JpWVWmneZWHsmmSzqzy8o25GgyWS/atwFoR"
    "p0uZKnpIWaJWgGD0lg8+YS/40z6/DAUQfEeX/CvUdcLGMHAJO0a5zQ8cpBPHAHujzsg7Rc"
    "bByDse/wzBn/k1/jrqAG4wgL/fAapD/EZWOVDTXV9gqahSgC2UAoQDs3SiWEDfOtNv85mQ"
    "KqmptbNUIkX9h22yy62Tpp7gVGJutJg9ul7iGlVJD7sj3/FCq+4PyXKqDOoSGdTBHFc1oJ"
    "vhUxHdrFNEWOfVcI2zqJjj6pgjDUMtNYVsmgZv2ZhNfFwl4jWXvfvL3od+J0crqGjYyjhu"
    "WhNWDodt04NyaRE2L36Ai47EfxKd7BZ5T3RBphkBXQnfCbeloi4GwIWPiAJMRN0dw5yCvR"
    "mxTHbBLqfQHxkBO/ymC55njPMJOX4IBqFHRvMTFREWCihcyFwm272Z8pQ0y1MSjMKs8S+H"
    "NSAvMvp3zmNSgB+34VNGCFNPlFSqQow4WpcTuRkDuiHe8WWSlEy1xxKoCjR7nKqEXtehA8"
    "gzk/45CKY9MF4I9WkgaCGHzkybe5sJBhCImF6ohX8BD/7C7AFYJn6knMl0Uj5tmXbf9i1H"
    "eIQf5mRsWkhz0NMDMAUh8A8Bh08QbPZjcwcB3L9+rB8h9vdocnp8cno26nB6CGwHTcwfwG"
    "J39mzxLBiI4c5u/YjYtwUgfPpQU0oDpxTxv4J+DOm3pR0z2NakHDffGcZ/iapgG3FsyXvz"
    "iqGNgzKhjYP80MaBHF6utqpDHHIpmFfCXHtuVhreBsXnNu+B3MFOJc9In/nBhCq9Sr73GQ"
    "TDc+BzJ/uVjPDVzZfBHTtrzm3iuGlDqIxoNty/RNVRbbOOSkWlc9FvVTirOa02mulebYWU"
    "xfq0WpwnzqJCZyvDPAIuFYtYFYuIj6oXVOXEOiu/sDgn1cx5N2eibJFOIvOdWBZTF579Qq"
    "g+iut8tduKkz82czu2VYFqwC91Ka7UVrRUYVwROkF15wsBal8V7FarBz+Y0CLTe0Sp/7SZ"
    "mEOSoFsUeDAEqUZjtCvDDwOMgEOeY5V778AD986z8w9gLsK+FD6xv7zPEXTQW4iNtxRxX7"
    "9DKAXPxHlkvLZDdMTL/bLhhu3cQpUFNsv3VBBcFsOyCtwRR+v8HttoFI/sKuCG9AraldDy"
    "IZ2F9m/3g9u8vAifPu1YMHUX/A9YJt2avd7588TDOscPjD3Tck1M3/Hb/nVb0BdAzfFJOB"
    "lCiPduev9Io395PbhIew/4BS7SURlRS17BFxAxqLribOseJ7QQSqIZ41BwpuFsUJVMM9cd"
    "rfBHNsjr3NCV086KuSGpZ0tnlWQZGHdk5a8Al26z8os/JkqXEYkuLQCCMHkNMAN86qeFQT"
    "+aCvZG3plhTNjfiTF+02VrOX4daFkLn5kneGH0wwX+U7z1bJFFLF8Q1nPbNXZ2i0UC/xXs"
    "6LbM8Y+fU9lkdWaTzZn8SM6SfXU+Q8Rd46JHpCZWNL87Xz4xtXYObPaQaITTyQ3fru6v2F"
    "exAeIID4af+nfnILrP66Y2sHdDnyGJjC4IsRDEuWnRIVdKNmPGti3hhK9GvXPhxWBwnZgG"
    "L66GKXi/3lz07/b8PCpGZPqBpqzJySY8/tTS9yEP6JBDLfxXLvz57BRE18riG2Np4f6Gx6"
    "XSdY4L0nWOs+k6fNZepxF7xFbLiqkhVSg7YUmrbKw/nphVh+0WVbo3zIGkmms3KBGqqLm2"
    "tOK97j4CDRu8L24j8Np17jf+pih3CBr+78y4pVIU3SLnVLDFiubEiEu5qIjBRp2LHBBwgj"
    "0Y7RXrr4a7YOSdHI/3R97x2c+8lHAMD9mRw6PTrqgaFPn/b86Fs2gMqUkBmYDggQCizIxg"
    "oyond6He25dxWSX7sCtvVN3eqMd5BVB9YmXgSAyc6isDtSLYgRVBUfFZjtn6GgVn9TinNt"
    "97U228U8vaQG0Ms5GNYZYLg9cxYQc8cxNPP/H2QzIDNnG+0HwlPqU2W5KuNl59lqD5ETP5"
    "CF72RAJ7NwTz/38B+2+6INggQ3Rb+okC0a36P4xcYpJu6KKqYUazjMpAhFlk7+fQsnLhjb"
    "FtRqs3AeSjw9OTJb78SxG09ze96+usccnfV6rNTezJSq6LQU3ztmm+3AS2onnduuBmmBW6"
    "EnSrBtIjphrj6MsjOxVIb0i618Bzx+THDaIUirGTtU0SBMXGiSDV5jHaEp3HAnK+64Xt0R"
    "n/z40JjyKnC54d03URDo0IdjFMoZ9iLnbQ0CFvDg1MF0BsAIow+zDhbjKdzOemtO3Y1u9X"
    "xnnGrHXXE+gFgWSx0Vr1nK4Lc/pHsXl+Pjw8Ojo93D86OTt+f3p6fLa/VHHZU0UK7+LqV/"
    "4KJl7VEu429uPl3oTVqV8hb5NzMjrD/s2X696wz4TLxqLFHmiEh/1/DPn3H2u1rdm81+H1"
    "i+ZeNzNj2x2bbLiwCJQAnF9uFGOpv+LodXyhW6ktimaEdTRMxF2j75K9WmEMrVJ6af/2w9"
    "Xtr+cg4B/h+/4tUzN8Nh3hj72r6/4Hfj++Y+AIf7390L+++ta/611cM93ksQeyzCf2Y8a+"
    "M+v1lVIweVepC4uzqFKm9NIjbRJlcC2VmhdnV7GaRsdqdAsyIay55WSGWVWwNVvWJtPz2p"
    "xOpbGjgtzmNKPqgrDSnjOQ4dlIe0QSj25B54MEV9v6nB6clMkiZ1QFJkAmixw5DnE0+V6P"
    "uVZAkkllSmYtAQtSVxMwZWEdsmlejmuSqw17hRVNAGyJXrwYWer/68HtryF5eoWSxN2v9e"
    "K6tqrTKc25pVHdVv9TXHWLZc5CK1oY5unvDGsbXoK6NsxTpSJZ6HnW6QBbi86yZdsuGKTB"
    "AC7OE+NGZXWRx9jUeqNp642mxNZizSxlkbVkr8uCuFqsv2a5qNpwhgD0DNPlrQx4es6ytY"
    "G4Ft9Z5xw8zwiYkydksE+mPotoJg6Z87NzHhvj/7si2vU8QzgbUNvurdbonaAy0etOGlL7"
    "kG21DlwlqLdmYoqLdSzs86q1lSku5TSQZC6pWuAtIctn63UGbYZPDdssuExVrAFtiksBq8"
    "qtq8ykmy+3jt71DQDc8prrjF7MKbyWqQmF7ip0U6qxBLahcaWwXYVtygxtVMOAL/zwHbKF"
    "tzLjdYmd7RY5XWxOpzlLwlI+F84kyqEgsAieAsHOvvDkYjCDfPN6V1TwgwVywZ7YdfjE4L"
    "X6P+8bYOS9R/tj8Xd/5P18dno86ryRe1y2dSO1oUGzohP5ThcxArJoFyVqTqWtyFWa5nmF"
    "NE2XuFCSolRgnwf0akEpWfOodtbrDOydcHU1JAbzJdivxygoccrQFBsGIXW1QifexMfEY+"
    "JhY1mCRByAnhB2u+AR2S6bvnnVNCXgO2KTpvsTZTM4GyRsomezsahHmpgOdf3JviumeMi+"
    "OJ4kLLP9273AVKiYj/aSRLQmGwkbzEQrCs7oyHxaS8emWOtRsqrR6XrhhOVKpWyW3JKhDb"
    "lBdSfIGQRLMj0La6NDFlUZvRuV0ffIeTJ19JnXbkqMhvjpQnuB+oRaWARapiaaDYpHzg8C"
    "5l/AA08T5hsVuvqMzdAPY+K+w5b3LiB44PO4DR1enMzLNRmhTYGQ13TmAoJdwidv8iyriN"
    "7y3V5gKMgTqov6n0tzqXffVNhUVkG+nSD+V4A6pG9yTfPadtmmSwQNzxE71gb9RqqUCspY"
    "lS9B4ksItZhGsGVWnp0l3GorkPJbgVDiuBpxDFlYNb9PeIJJ1cFmOpPqLlt+VRzIEZMav7"
    "thZ1rEveYdFGRGZniu2MJkVFrYhGG1efmJPDODDS8AuyJhMM8Rgxro5Inn7GJmBbLL/QJ0"
    "aEPddBfApADhCXH05Y5oBBumv/0Z+PqFL355IOqBa1BkPGQNzBrut+E2gqqrDj9XR1cdMX"
    "SpC53qBRgJzm34pl5VPG1yTflvagXDIGJQRkGTZiqR0yKbpsJkl4I5aklSwv1hIGj5pSOA"
    "t6IiC8R9En66wAOfICjiXgYd8SjFAoyZXPkn0wlCGQDqOvGwtP3bRq+t2tc2qxKlaU6M3X"
    "cYxd/1sSnrRJ6PbsTRPnwPDsr4iA7yfUQHmRYSgTZi02gVkFNs7evWsWlfnEPyRvHqNmsh"
    "b41Va2L/6U41rDuX1/27z+f+3tUjfNO77f3Kd+n1Z/a19undQts05d2oyztXe2pmgxXK5v"
    "tGiCSbNdIr4nyqh0CTF7BszcD1zpqpilluJe0mS9uF02nlzvcRk8rvqDAzqZ47rX2lKjit"
    "0q5CLR4pkLyIwUU+fr5DlgiOS4ZA4JrqRVfaWa2aqcZKvEImpR6DjKe+vBCrC1P0Y74Mkm"
    "haiNXY/4X1g9VQ5VKMVlj7+0KkKlRJ7+KYmhDLYtrQs18I00dxna92S2GKN7Gi2hzKEvuq"
    "wJXqntV6xHituEKsCmKuxI+q8EqudOjjC7XWkF2irfOfgEcLFhq1wLQrg2i7UWbioEseYh"
    "UBVUmwOXa+WxxzZpSaHiMtEXvmdzNAwASg8cQDAX4mErNiTD1IQaJgz+H+u7cOYUal3+sQ"
    "QErNKeZrDUnZ/mYv/YLI8+sGSRvkCt5+Uv0TtDyZnVOQX7ZkaU3qSw0pZo1JkGEK516fIc"
    "MTTyfXXUuCEsqLxmlLtSAJ91nmnhS+Q7PDuGlXJFo65BnsmcZfDt78AkhiA2foIL9bCNM3"
    "D9xfxjdolqRybuMGKoemWTk0oXSqTBFxnhpj4z1qwj/dcwt9Bs2KMfLGhA9FImv1uqA0W3"
    "3TxVGTUyUT/qsgpVyz2aqQ41UBXilvfRi/3xGI/WopjTLNUGXnmzRbfcCeHu8IsuzVZloH"
    "GmuoBhlrfQif7Ip6mBHH/A/vXAcXVdBNsynFm1W8wmmm6Z5LJpM1BnAuf31YHxw2GeyGrH"
    "eEV0uyzAm9XfmrGzekKOGRsU2kI17y9UycRzAhQdUYLygAczQfi33bTXcGIGarjqBQzGD6"
    "j88xYjsJ9uGRe16CQJTMN7P5m4zwCD9EW+nxbgqPiALhVASBU5H7fnijJbqgLpqDPUze0h"
    "l5ZsupOR8vCHMP0RtgGmhuE1fsNq87hFLxlMihpffI8N1HCAX9OqONoQzGyXfM6ILfco7G"
    "Ei3Uvho1r8Tcagn3S4YWNmU43C/TLItR5S69xLnkRBX2ZFknFzzkrXG9yxSx53eTrJIMft"
    "O7/dq7FtnfjHuEbwfa/afBdwY70bi24QnibDD2b3u3l/3zuOYZ4Y+D6+vBd+3rF/Y8YZw7"
    "rT1fJ308UFEZ4a3IxVxyqRzMpiWMJZwiBZsern41X7jv4XovJ3d4Vn01B1/6t+fCVTrCHx"
    "iU54B3CRvhu/63wef+h3PgoKewFLbqK3dW4o07y33hztRWwq/hDMTMyqsUmwvoW7eN1lam"
    "e5Vt/IeYPLgOXcc2iNiUcdBk+QaT4lodbeOcSspNlnKsBqDallhZRrUrlqS5WNIjVBbbJJ"
    "dqRFhQ0zReVNyBMM2nhm2TNndsIbCZMEJWPWRB3tpWWE3TC3nZr93UXlgpnbh6i7zoRa8R"
    "3YYN37LgZpRiiW3cXmeHx10FuGCDRzm8MFlS+UKEW1mgmVERGZO0UTvmDdmiCF9CfYY6sm"
    "hudLZbGNPldJq+JCyXrspTgAzeVA1RCsQlgI0cwIbF1YeuCKzyAKmFIOUd2aDLPrpUBGeD"
    "jXgA78kG+HoNOGjCFiAzYEo6v237Zi9IY2WQVuvOsmRoXUr+9vfN84WvCeFnMc/fLiXN1w"
    "KPa5G3YBubpqAftslemTX8NklO5bdpst9GaE9NVC1V0WkptjZsSrTtYJEPmYddU7IjZfEL"
    "lWJVb1TT3qiGZPh9QzNTl9cyhacKbcKnGFGpLRJ16PwCHmyLDTTRjRcTZw4tk+80BGMbEQ"
    "mCd2ILIi0gdpDrOZgyewzsjbxTHb7vHRwevT+WlGJu80aqnKlZSXRCaFUmoiVD64zrg1Lb"
    "TRbsNpkJqAusNAc9VQY4ZNrSPN8mkIVarQLwkkEZUauNqCdTsgzMxzYgb1sm00GRkl2O2t"
    "P8UXuaUQ2eo8+4kWlI9S83T3PUQ5qxyDjdvfFcgDM3NjNVYMxSn1YprYtxqDCXrKxOwLOG"
    "DyLJqVZMTVsxJVbGkLpauPFqdVFL2JW8d0XelZxOKb72GUyb3wdEJdH+IV6p10u0aZpUt5"
    "xp8zrZCk0DeRPpCstkm3xfqTSLodYW07sCfCrjGvJmxy8E6sa3oO/8i7UJq2264HvIMfVZ"
    "R+KBD850ixzwMKJZ5X/Ph0H5tJvl035CDg3etNJ+q4iljcXhx8dlqsWOj/Orxfi5VIa8bV"
    "dBOCBvIboHpWrxDgpq8Q4ktXiEV5lL1hB/ux/c5hiXEUt68WDqLvgfsEy6w1OwDFwORmLF"
    "kMnDSafcpJYC/AIXr90x5vf/A3qpqPU="
)
