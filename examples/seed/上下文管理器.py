# 使用上下文管理器 — from the 0.1.x README, unchanged.
from desam_client import DeSAMClient

with DeSAMClient(host="localhost", port=50051, api_key="sk-your-api-key") as client:
    job_id = client.submit_job(name="测试作业", command="echo 'Hello World'", cpu=1, memory_mb=1024)
    print(f"作业提交成功: {job_id}")
