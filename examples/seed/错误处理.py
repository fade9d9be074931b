# 错误处理 — the 0.1.x README's exception example; its `submit_job(...)` placeholder
# is filled with a job that asks for more GPUs than the dev scheduler has.
from desam_client import AuthenticationError, DeSAMClient, DeSAMError, JobNotFoundError

client = DeSAMClient(host="localhost", port=50051, api_key="sk-your-api-key")

try:
    job_id = client.submit_job(name="太大的作业", command="true", gpu=1000)
except AuthenticationError:
    print("API Key无效，请检查")
except JobNotFoundError as e:
    print(f"作业不存在: {e}")
except DeSAMError as e:
    print(f"DeSAM错误: {e}")
